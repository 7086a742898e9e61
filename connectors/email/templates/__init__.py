"""The shipped templates: ``<language>.subject.txt`` and ``<language>.body.txt`` (de, en, fr)."""
