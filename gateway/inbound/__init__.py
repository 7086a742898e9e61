"""Inbound (buyer side): a received payload (an AS2 message, a polled file) interpreted into the
canonical model with the in-process rules (:mod:`.interpret`)."""
