"""The HTTP routers: each route parses its input, makes one call, renders the answer."""
