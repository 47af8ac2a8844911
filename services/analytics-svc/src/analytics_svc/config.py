"""analytics-svc settings."""

from pydantic import Field

from qunyun_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = 8004
    # The full recompute refits each tenant's model and rescores everyone; between runs, events rescore
    # the members they touch against the last fit.
    recompute_seconds: float = Field(default=3600.0, gt=0)
    # Members only imported history touched are judged once no history of their tenant has come in for this
    # long (analytics_svc.scoring.marks).
    rescore_seconds: float = Field(default=30.0, gt=0)
    # A community's health and stage are over whole days: hourly is often enough to see a new day.
    health_seconds: float = Field(default=3600.0, gt=0)
    alert_seconds: float = Field(default=900.0, gt=0)
    # How long a refit job's worker holds it without renewing (it renews every third of it while refitting):
    # a replica that stops mid-refit leaves the job to another (or to itself, restarted) this long after.
    refit_lease_seconds: float = Field(default=60.0, gt=0)
