"""The editorial calendar: scheduling within each community's flooding policy, best slots, publishing once."""
