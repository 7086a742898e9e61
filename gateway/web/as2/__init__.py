"""The AS2 face of the web app: receiving partners' messages and their asynchronous MDNs
(:mod:`.endpoint`)."""
