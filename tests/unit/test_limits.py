"""Token buckets per API key, and the reset durations they report."""

from gateway.limits import RateLimiter, _duration
from gateway.settings import RateLimitSettings
from gateway.tenants import tenant_of


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_bucket_allows_a_burst_then_refills_at_the_rate():
    clock = _Clock()
    limiter = RateLimiter(RateLimitSettings(requests_per_minute=60, burst=3), clock=clock)
    decisions = [limiter.take("key_a") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    assert abs(decisions[3].retry_after - 1.0) < 1e-6  # one token per second
    clock.now += 0.5
    assert not limiter.take("key_a").allowed
    clock.now += 0.5
    assert limiter.take("key_a").allowed
    assert limiter.take("key_b").allowed  # every key has its own bucket


def test_default_burst_is_a_minute_worth_and_per_key_overrides():
    clock = _Clock()
    settings = RateLimitSettings(requests_per_minute=2, per_key={"secret-key": 0, tenant_of("other"): 120})
    limiter = RateLimiter(settings, clock=clock)
    assert [limiter.take("default").allowed for _ in range(3)] == [True, True, False]
    assert limiter.take(tenant_of("secret-key")) is None  # 0: unlimited for that key
    assert sum(limiter.take(tenant_of("other")).allowed for _ in range(150)) == 120


def test_disabled_without_any_rate():
    assert not RateLimiter(RateLimitSettings()).enabled
    assert RateLimiter(RateLimitSettings(per_key={"k": 5})).enabled


def test_reset_durations_read_like_openai():
    assert _duration(0.25) == "250ms"
    assert _duration(1) == "1s"
    assert _duration(1.5) == "1.5s"
    assert _duration(360) == "6m0s"
