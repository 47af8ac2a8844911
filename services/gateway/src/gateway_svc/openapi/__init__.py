"""The platform's one API document: the gateway's own operations and the services' public ones, merged."""
