"""Buyer profiles: the :class:`~gateway.profiles.profile.BuyerProfile` model (format, channel and
fallbacks, consolidation, proof, retry) and loading a folder of them
(:mod:`gateway.profiles.load`)."""
