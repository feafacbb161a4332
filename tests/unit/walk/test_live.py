"""LiveValues: live values glide in (slew), hold, and fall back to the schedule; plain numbers."""

from __future__ import annotations

import pytest

from installation.walk.live import LiveValues


def steered(live: LiveValues, wall_s: float, name: str = "psi") -> tuple[float, float]:
    """(value, weight) of `name` at wall_s; fails when it is not steered then."""
    values = live.at(wall_s)
    assert name in values, f"{name} not steered at {wall_s}"
    return values[name]


def test_first_message_holds_its_value_and_weight_rises_over_the_slew() -> None:
    live = LiveValues()
    live.set("psi", 0.7, wall_s=10.0, slew_s=1.0, hold_s=5.0)
    assert steered(live, 10.0) == (0.7, 0.0)  # nothing to glide from: the value is there
    assert steered(live, 10.5) == pytest.approx((0.7, 0.5))
    assert steered(live, 11.0) == pytest.approx((0.7, 1.0))
    assert steered(live, 14.9) == pytest.approx((0.7, 1.0))


def test_value_glides_linearly_over_the_slew() -> None:
    live = LiveValues()
    live.set("psi", 0.0, wall_s=10.0, slew_s=1.0, hold_s=30.0)
    live.set("psi", 1.0, wall_s=20.0, slew_s=1.0, hold_s=30.0)
    assert steered(live, 20.0) == pytest.approx((0.0, 1.0))
    assert steered(live, 20.25) == pytest.approx((0.25, 1.0))
    assert steered(live, 20.5) == pytest.approx((0.5, 1.0))
    assert steered(live, 21.0) == pytest.approx((1.0, 1.0))
    assert steered(live, 25.0) == pytest.approx((1.0, 1.0))  # arrived, stays


def test_weight_holds_then_falls_to_zero_and_the_entry_disappears() -> None:
    live = LiveValues()
    live.set("psi", 0.7, wall_s=10.0, slew_s=1.0, hold_s=2.0)
    assert steered(live, 11.99)[1] == pytest.approx(1.0)
    assert steered(live, 12.0)[1] == pytest.approx(1.0)  # hold_s after the message: the fall
    assert steered(live, 12.5)[1] == pytest.approx(0.5)
    assert steered(live, 12.999)[1] == pytest.approx(0.001)
    assert steered(live, 12.5)[0] == pytest.approx(0.7)  # the value stays while it falls
    assert live.at(13.0) == {}  # hold + slew: the schedule has fully taken over
    assert live.at(100.0) == {}
    assert live.current("psi", 13.0) is None


def test_weight_is_monotonic_and_continuous_through_rise_hold_and_fall() -> None:
    live = LiveValues()
    live.set("psi", 0.7, wall_s=0.0, slew_s=0.5, hold_s=1.0)
    times = [k * 0.01 for k in range(150)]
    weights = [live.at(t).get("psi", (0.0, 0.0))[1] for t in times]
    rise, fall = weights[:100], weights[100:]
    assert all(b >= a for a, b in zip(rise, rise[1:], strict=False))
    assert all(b <= a for a, b in zip(fall, fall[1:], strict=False))
    assert max(abs(b - a) for a, b in zip(weights, weights[1:], strict=False)) <= 0.02 + 1e-9


def test_a_message_during_the_glide_continues_from_the_current_value() -> None:
    live = LiveValues()
    live.set("psi", 0.0, wall_s=10.0, slew_s=1.0, hold_s=30.0)
    live.set("psi", 1.0, wall_s=20.0, slew_s=1.0, hold_s=30.0)
    before = steered(live, 20.5)
    live.set("psi", 0.0, wall_s=20.5, slew_s=1.0, hold_s=30.0)  # turn back halfway
    assert steered(live, 20.5) == pytest.approx(before)  # no jump
    assert steered(live, 20.5) == pytest.approx((0.5, 1.0))
    assert steered(live, 21.0) == pytest.approx((0.25, 1.0))  # from 0.5 to 0 over a full slew
    assert steered(live, 21.5) == pytest.approx((0.0, 1.0))


def test_a_message_during_the_rise_continues_from_the_current_weight() -> None:
    live = LiveValues()
    live.set("psi", 1.0, wall_s=10.0, slew_s=1.0, hold_s=30.0)
    live.set("psi", 2.0, wall_s=10.5, slew_s=1.0, hold_s=30.0)
    assert steered(live, 10.5) == pytest.approx((1.0, 0.5))
    # the value glides from where it was; the weight keeps rising at its one rate (1 per slew)
    assert steered(live, 10.75) == pytest.approx((1.25, 0.75))
    assert steered(live, 11.0) == pytest.approx((1.5, 1.0))
    assert steered(live, 11.5) == pytest.approx((2.0, 1.0))


def test_a_message_during_the_fall_brings_the_weight_back_up_from_where_it_was() -> None:
    live = LiveValues()
    live.set("psi", 0.7, wall_s=10.0, slew_s=1.0, hold_s=2.0)
    assert steered(live, 12.5)[1] == pytest.approx(0.5)  # halfway down
    live.set("psi", 0.7, wall_s=12.5, slew_s=1.0, hold_s=2.0)
    assert steered(live, 12.5)[1] == pytest.approx(0.5)  # no jump
    assert steered(live, 12.75)[1] == pytest.approx(0.75)  # back up at the same rate
    assert steered(live, 13.0)[1] == pytest.approx(1.0)
    assert steered(live, 13.5)[1] == pytest.approx(1.0)
    assert steered(live, 14.49)[1] == pytest.approx(1.0)  # held again, hold_s after the message
    assert steered(live, 15.0)[1] == pytest.approx(0.5)
    assert live.at(15.5) == {}


def test_messages_that_keep_coming_keep_the_weight_at_one() -> None:
    live = LiveValues()
    live.set("psi", 0.5, wall_s=0.0, slew_s=0.5, hold_s=1.0)
    for k in range(30, 330):  # from 1 s on, 10 s at 30 messages/s, each a little different
        live.set("psi", 0.5 + 0.001 * k, wall_s=k / 30, slew_s=0.5, hold_s=1.0)
        assert steered(live, k / 30)[1] == pytest.approx(1.0)
        assert steered(live, k / 30 + 1 / 60)[1] == pytest.approx(1.0)
    assert steered(live, 329 / 30 + 0.99)[1] == pytest.approx(1.0)  # still within the hold
    assert live.at(329 / 30 + 1.5) == {}


def test_streamed_messages_bring_the_weight_towards_one() -> None:
    live = LiveValues()
    weights = []
    for k in range(300):  # 10 s at 30 messages/s from the first one
        live.set("psi", 0.5, wall_s=k / 30, slew_s=0.5, hold_s=1.0)
        weights.append(steered(live, k / 30)[1])
    assert weights[0] == 0.0
    assert all(b > a for a, b in zip(weights, weights[1:], strict=False) if a < 1.0)
    assert weights[-1] == pytest.approx(1.0, abs=1e-6)


def test_weight_reaches_one_a_slew_after_the_first_message_while_messages_stream() -> None:
    live = LiveValues()
    for k in range(16):  # 0 .. 0.5 s at 30 messages/s
        live.set("psi", 0.5, wall_s=k / 30, slew_s=0.5, hold_s=1.0)
    assert steered(live, 0.5)[1] == pytest.approx(1.0)


def test_slew_zero_is_a_step() -> None:
    live = LiveValues()
    live.set("psi", 2.0, wall_s=10.0, slew_s=0.0, hold_s=1.0)
    assert steered(live, 10.0) == (2.0, 1.0)
    live.set("psi", -1.0, wall_s=10.5, slew_s=0.0, hold_s=1.0)
    assert steered(live, 10.5) == (-1.0, 1.0)
    assert steered(live, 11.49) == (-1.0, 1.0)
    assert live.at(11.5) == {}  # and it goes at once after the hold


def test_hold_zero_hands_back_right_after_the_slew() -> None:
    live = LiveValues()
    live.set("psi", 0.7, wall_s=10.0, slew_s=0.5, hold_s=0.0)
    assert "psi" in live.at(10.49)
    assert live.at(10.5) == {}
    assert live.current("psi", 10.5) is None


def test_hold_zero_streaming_sensor_steers() -> None:
    live = LiveValues()
    for k in range(60):  # 2 s at 30 messages/s
        live.set("psi", 0.7, wall_s=k / 30, slew_s=0.5, hold_s=0.0)
    assert steered(live, 59 / 30)[1] > 0.9  # messages keep coming: the live value is in charge


def test_parameters_are_independent_and_current_reads_the_value() -> None:
    live = LiveValues()
    live.set("psi", 0.0, wall_s=0.0, slew_s=0.0, hold_s=10.0)
    live.set("psi", 1.0, wall_s=1.0, slew_s=2.0, hold_s=10.0)
    live.set("cutoff", 4.0, wall_s=2.0, slew_s=1.0, hold_s=1.0)
    assert live.at(2.0) == {"psi": (0.5, 1.0), "cutoff": (4.0, 0.0)}
    assert live.current("psi", 2.0) == pytest.approx(0.5)
    assert live.current("cutoff", 2.5) == pytest.approx(4.0)
    assert live.current("translate_x", 2.0) is None
    assert set(live.at(4.0)) == {"psi"}  # cutoff handed back at 2 + 1 + 1


def test_infinite_hold_never_hands_back() -> None:
    live = LiveValues()
    live.set("psi", 0.7, wall_s=0.0, slew_s=1.0, hold_s=float("inf"))
    assert steered(live, 0.5)[1] == pytest.approx(0.5)
    assert steered(live, 1e9) == pytest.approx((0.7, 1.0))


def test_forget_finished_keeps_memory_bounded() -> None:
    live = LiveValues()
    for k in range(1000):  # a new name every 0.1 s, each steered for MIN_HOLD_S + 0.1 s
        live.set(f"direction/{k}", 1.0, wall_s=k * 0.1, slew_s=0.1, hold_s=0.1)
        live.forget_finished(k * 0.1)
        assert len(live.tracks) <= 4
    live.set("psi", 1.0, wall_s=200.0, slew_s=1.0, hold_s=100.0)
    live.forget_finished(200.5)
    assert set(live.tracks) == {"psi"}  # the finished ones go, the steered one stays
    assert live.at(200.5) == {"psi": (1.0, 0.5)}
    live.forget_finished(301.0)
    assert live.tracks == {}
