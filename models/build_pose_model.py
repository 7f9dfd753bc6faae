"""Rebuild ``pose_landmarker_full.task`` from the Apache-2.0 tflite files in mediapipe==0.10.21.

Why this exists: mediapipe releases from 0.10.30 on ship no pose model, and nothing in this project
may download one at run time. The 0.10.21 wheel carries the two BlazePose GHUM networks; a
PoseLandmarker ``.task`` bundle is those two files zipped (uncompressed, 4-byte aligned) once each
carries image NormalizationOptions metadata. The metadata is written with 0.10.21's own writer
because the 1.2.x writer imports a native module its wheel lacks.

Usage (needs only the package registry)::

    python models/build_pose_model.py            # makes a throwaway venv, builds, prints sha256
    python models/build_pose_model.py --inner    # run inside a venv that has mediapipe==0.10.21

Wrong normalisation moves landmarks by hundreds of pixels without any error, so
``tests/test_pose.py`` checks the bundle's landmarks against known geometry.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUNDLE = HERE / "pose_landmarker_full.task"
SOURCE_WHEEL = "mediapipe==0.10.21"

# (file inside the wheel, name inside the bundle, normalisation mean, std)
# The detector expects pixels in [-1, 1]; the landmark network expects [0, 1].
MEMBERS = (
    ("modules/pose_detection/pose_detection.tflite", "pose_detector.tflite", 127.5, 127.5),
    ("modules/pose_landmark/pose_landmark_full.tflite", "pose_landmarks_detector.tflite", 0.0, 255.0),
)


def build_inside_venv(output: Path) -> None:
    import mediapipe
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer
    from mediapipe.tasks.python.metadata.metadata_writers import model_asset_bundle_utils

    if mediapipe.__version__ != SOURCE_WHEEL.split("==")[1]:
        raise SystemExit(f"need {SOURCE_WHEEL}, found mediapipe {mediapipe.__version__}")
    root = Path(mediapipe.__file__).parent
    members: dict[str, bytes] = {}
    for source, name, mean, std in MEMBERS:
        writer = metadata_writer.MetadataWriter.create(bytearray((root / source).read_bytes()))
        writer.add_general_info(name.removesuffix(".tflite"), f"BlazePose GHUM from {SOURCE_WHEEL}")
        writer.add_image_input(norm_mean=[mean], norm_std=[std])
        model, _ = writer.populate()
        members[name] = bytes(model)
    # Fixed member timestamps make the bundle, and so its sha256, reproducible.
    with model_asset_bundle_utils.AlignZipFile(str(output), mode="w", alignment=4) as bundle:
        for name, payload in members.items():
            bundle.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), payload)


def build_with_throwaway_venv(output: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="hinge-model-build-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = venv / "bin" / "python"
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", SOURCE_WHEEL], check=True)
        subprocess.run([str(python), __file__, "--inner", "--output", str(output)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inner", action="store_true", help="build with the current interpreter")
    parser.add_argument("--output", type=Path, default=BUNDLE)
    args = parser.parse_args()
    if args.inner:
        build_inside_venv(args.output)
        return
    build_with_throwaway_venv(args.output)
    digest = hashlib.sha256(args.output.read_bytes()).hexdigest()
    print(f"{digest}  {args.output.name}")


if __name__ == "__main__":
    main()
