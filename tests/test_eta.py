"""The time-left estimate against a simulated run with known step and evaluation times."""
from lsw.config import RunConfig
from lsw.eta import TimeLeft, weight_step_cost


def simulate(step_s: list[float], eval_s: float, epochs: int, steps: int, **eta_args) -> list[tuple[float, float]]:
    """(estimate, true time left) at every report; epoch e's steps take step_s[e] seconds each."""
    clock = [0.0]
    eta = TimeLeft(clock=lambda: clock[0], **eta_args)
    reports = []
    for e in range(epochs):
        for s in range(1, steps + 1):
            clock[0] += step_s[e]
            reports.append((clock[0], eta.update(e, epochs, s, steps)))
        clock[0] += eval_s
    end = clock[0]
    return [(est, end - t) for t, est in reports if est is not None]


def test_estimate_includes_evaluation_and_follows_the_current_pace():
    # Two cheap plain epochs, then LSW steps twice as slow; each epoch's evaluation costs 3 steps' time.
    pairs = simulate([1.0, 1.0] + [2.0] * 8, eval_s=6.0, epochs=10, steps=20)
    after_switch = pairs[2 * 20:]  # from the first LSW epoch on
    errors = [abs(est - true) / true for est, true in after_switch if true > 0]
    assert max(errors) < 0.02, max(errors)


def test_phase_average_would_have_been_wrong():
    # The old estimator (pace since the phase started, steps only) underestimates this run by a third.
    pairs = simulate([1.0, 1.0] + [2.0] * 8, eval_s=6.0, epochs=10, steps=20)
    est, true = pairs[2 * 20 + 5]
    assert abs(est - true) / true < 0.02
    elapsed = 2 * 20 * 1.0 + 2 * 6.0 + 6 * 2.0
    done_epochs = 2 + 6 / 20
    naive = elapsed / done_epochs * (10 - done_epochs)  # what the phase average said
    assert naive < 0.8 * true


def test_plain_epochs_foresee_the_dearer_weight_steps_ahead():
    # A small collection: 11 steps an epoch, 20 epochs, alpha from step 100 -> epoch 10 on (RunConfig's rule);
    # the weight steps cost 1.4 plain ones. Estimates made in the plain epochs count them at that cost.
    cfg = RunConfig(epochs=20)
    first = cfg.first_weight_epoch(11)
    assert first == 10
    times = [1.0] * first + [1.4] * (20 - first)
    told = simulate(times, eval_s=2.0, epochs=20, steps=11, first_dear=cfg.first_weight_epoch, cost=1.4)
    blind = simulate(times, eval_s=2.0, epochs=20, steps=11)
    plain = slice(11, first * 11)  # from epoch 1 (evaluation measured) to the last plain step
    assert max(abs(est - true) / true for est, true in told[plain]) < 0.03
    assert min((true - est) / true for est, true in blind[plain][:50]) > 0.1  # blind: 10% or more short
    # once the dear steps run, their pace is measured: both agree
    assert told[-30:] == blind[-30:]


def test_weight_step_cost_follows_the_method():
    assert weight_step_cost(RunConfig(meta="full")) > weight_step_cost(RunConfig()) > 1.0
    assert weight_step_cost(RunConfig(method="small-loss")) == 1.0


def test_a_plain_phase_after_this_one_is_priced_at_the_plain_pace():
    # 11 steps an epoch, alpha from epoch 10, weight steps at 1.4x: a second phase of 100 plain steps and
    # 10 evaluations costs 100 plain steps and 10 evaluations, measured before or after the dear steps began.
    cfg = RunConfig(epochs=20)
    clock = [0.0]
    eta = TimeLeft(clock=lambda: clock[0], first_dear=cfg.first_weight_epoch, cost=1.4)
    assert eta.plain_phase(100, 10) == 0.0  # nothing measured yet
    for e in range(20):
        for s in range(1, 12):
            clock[0] += 1.0 if e < 10 else 1.4
            eta.update(e, 20, s, 11)
        if e in (5, 15):
            assert abs(eta.plain_phase(100, 10) - (100 * 1.0 + 10 * 2.0)) < 1e-6
        clock[0] += 2.0
