"""A/B tests on content and campaigns: assignment, exposures, conversions and significance."""
