"""The ``igw`` command: the parser and the commands (:mod:`.main`), reading inputs and writing
outputs for them (:mod:`.inputs`), ``--option`` checking (:mod:`.options`), progress lines
(:mod:`.progress`) and ``igw inbound`` (:mod:`.inbound`)."""
