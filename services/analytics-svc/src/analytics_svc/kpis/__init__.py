"""KPIs: the catalogue of definitions, each computed per day, week or month from the daily counts and
member sets, for the tenant or one community; docs/kpis.md is rendered from it."""
