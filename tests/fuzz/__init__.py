"""Coverage-guided fuzzing of every inbound parser (atheris); see run.py."""
