"""Worker job of the products page's bulk change (`plugin.usecases.bulk_policies`): the store's
catalogue, through its shared rate limiter, handed to the use case."""

from __future__ import annotations

from plugin.adapters.redis.bulk_jobs import RedisBulkJobs
from plugin.ports import Catalogue
from plugin.usecases import bulk_policies
from worker import connect_store, runtime


def run_bulk_backorders(job_id: str) -> dict[str, int]:
    """Set the backorder setting of every product (and variation) the job names."""
    rt = runtime()

    def catalogue_for(store_id: int) -> Catalogue:
        store = rt.stores.get(store_id)
        if store is None:
            raise LookupError(f"store {store_id} does not exist")
        platform, _limiter = connect_store(rt, store)
        return platform

    return bulk_policies.run_bulk_backorders(
        job_id, jobs=RedisBulkJobs(rt.redis), catalogue_for=catalogue_for
    )
