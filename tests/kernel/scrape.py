"""``/metrics`` of the embedded platform after some requests and a draw, parsed: what the
metrics catalog, the alert rules and the dashboard are checked against."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from gacha import samples
from gacha.conftest import Desk, live_now


async def draw_and_scrape(desk: Desk) -> tuple[str, dict[str, list[Sample]]]:
    """A published gacha, a fan's draw, a few reads; returns (gacha id, samples by family)."""
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    fan = await desk.fan(medals=500)
    drawn = await desk.client.post(
        f"/api/v1/gachas/{gacha_id}/draws", json={"count": 1}, headers=fan.ik()
    )
    assert drawn.status_code == 200, drawn.text
    await desk.client.get(f"/api/v1/draws/{drawn.json()['id']}", headers=fan.headers)
    await desk.client.get("/readyz")
    await desk.client.get("/api/v1/no-such-thing")
    token = desk.platform.settings.internal_token
    assert token is not None
    answer = await desk.client.get(
        "/metrics", headers={"X-Koepon-Internal": token.get_secret_value()}
    )
    assert answer.status_code == 200
    families = {
        family.name: list(family.samples) for family in text_string_to_metric_families(answer.text)
    }
    return gacha_id, families


def exposed_names(families: dict[str, list[Sample]]) -> set[str]:
    """Every name a query may use: families (counters without ``_total``) and their samples'
    names (``_total``, ``_bucket``, ``_count``, ``_sum``, ``_created``)."""
    names = set(families)
    for family_samples in families.values():
        names.update(sample.name for sample in family_samples)
    # A family without samples yet (labels never used) still lists its sample names' stems.
    for name in list(families):
        names.update({f"{name}_total", f"{name}_bucket", f"{name}_count", f"{name}_sum"})
    return names
