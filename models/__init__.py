"""Data shipped with the analyzer: the pose model bundle and the rule tables (installed as analyzer.models)."""
