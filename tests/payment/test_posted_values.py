"""``MedalWallets.posted_values``: what the medal ledger posted for a batch of spends, the same
from the in-process client and over HTTP (the VTuber service's medal reconciliation asks it)."""

from __future__ import annotations

import httpx
import pytest

from koepon.app import Platform, create_app
from koepon.contracts.payment import MedalsRefused, PostedSpend
from koepon.kernel.settings import Settings
from koepon.payment.client import HttpMedalWallets

from .conftest import WalletHarness, new_user


async def test_the_batch_tells_each_spend_as_posted_and_both_clients_agree(
    wallets: WalletHarness, platform: Platform, settings: Settings
) -> None:
    user = new_user()
    await wallets.issue(user, 30, price_jpy=330)  # ¥11 a paid medal
    await wallets.issue(user, 5, kind="free")
    medals = wallets.platform.clients.payment
    assert medals is not None
    await medals.reserve(user, 8, "pv-posted", 60)  # 5 free first, then 3 paid
    await medals.post("pv-posted")
    await medals.reserve(user, 2, "pv-pending", 60)
    await medals.reserve(user, 1, "pv-voided", 60)
    await medals.void("pv-voided")

    ids = ["pv-posted", "pv-pending", "pv-voided", "pv-unknown"]
    found = await medals.posted_values(ids)
    assert found == {
        "pv-posted": PostedSpend(
            transfer_id="pv-posted",
            status="posted",
            posted_paid_medals=3,
            posted_free_medals=5,
            posted_paid_value_jpy=33,
        ),
        "pv-pending": PostedSpend(transfer_id="pv-pending", status="pending"),
        "pv-voided": PostedSpend(transfer_id="pv-voided", status="voided"),
    }
    assert await medals.posted_values([]) == {}

    app = create_app(platform, gateway=False, manage_lifecycle=False)
    token = settings.internal_token.get_secret_value()  # type: ignore[union-attr]
    remote = HttpMedalWallets("http://payment", token, transport=httpx.ASGITransport(app=app))
    stranger = HttpMedalWallets("http://payment", "wrong", transport=httpx.ASGITransport(app=app))
    try:
        assert await remote.posted_values(ids) == found
        assert await remote.posted_values([]) == {}
        too_many = [f"pv-{i}" for i in range(201)]
        for client in (medals, remote):
            with pytest.raises(MedalsRefused) as refused:
                await client.posted_values(too_many)
            assert (refused.value.code, refused.value.status) == ("too_many_transfer_ids", 422)
            assert await client.posted_values(too_many[:200]) == {}
        with pytest.raises(MedalsRefused) as refused:
            await stranger.posted_values(ids)
        assert refused.value.code == "forbidden"
    finally:
        await remote.close()
        await stranger.close()
