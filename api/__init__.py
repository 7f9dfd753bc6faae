"""The web service (``hinge serve``): a thin FastAPI layer over ``analyzer.pipeline.analyze``.

Modules: settings (HINGE_* environment), db (tables; the analyses table is the job queue), accounts
(users, tokens stored as sha256, coach links), auth (bearer dependency), uploads (streamed, size-limited
multipart), jobs (dispatcher thread + worker processes or Dask), media (rep thumbnails), schemas (the
HTTP contract's bodies), errors (one JSON error shape), app (``create_app``), cli (serve / users),
testing (fast fake analyzers for the tests). Nothing heavy is imported by ``import api``.
"""
