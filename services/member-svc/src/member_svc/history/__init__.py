"""Importing a brand's member history: members named by the merchant's ids, with the communities they joined
and left when they did, in batches answered row by row. It writes members' and communities' tables."""
