"""Contents: a VTuber's files (originals private, previews public), uploaded and checked."""
