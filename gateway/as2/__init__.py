"""The gateway's AS2 set-up: the AS2 folder (our identities, partners; :mod:`.config`), creating
an identity (:mod:`.identity`, ``igw as2 identity``) and which async-MDN URLs a partner allows
(:mod:`.urls`). The message layer itself is :mod:`connectors.as2`."""
