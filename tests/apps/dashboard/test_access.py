"""The token gate: nothing is shown before a planner, analyst, manager or admin token is presented."""

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ingest.tokens import REFRESH_SECONDS, issue_token, revoke_tokens
from projections.data_dir import DataDir
from tests.apps.dashboard.conftest import ENTRYPOINT, FixturePlant, sign_in


def submit_token(token: str) -> AppTest:
    app = AppTest.from_file(str(ENTRYPOINT), default_timeout=120).run()
    app.text_input(key="token_entry").input(token)
    return app.get("form_submit_button")[0].click().run()


def shows_the_plant(app: AppTest) -> bool:
    titles = [title.value for title in app.title]
    return any(name in titles for name in ("Capacity", "Traceability", "Station floor", "Quality and anomalies"))


def test_the_app_asks_for_a_token_before_showing_anything(plant: FixturePlant) -> None:
    app = AppTest.from_file(str(ENTRYPOINT), default_timeout=120).run()

    assert [title.value for title in app.title] == ["cardtrace"]
    assert app.text_input(key="token_entry").label == "Access token"
    assert not shows_the_plant(app)
    assert not app.exception


def test_a_token_this_plant_never_issued_is_refused_with_a_clear_message(plant: FixturePlant) -> None:
    app = submit_token("ct_not-a-token-of-this-plant")

    assert [error.value for error in app.error] == [
        "This token was not issued by this plant. Issue one with `cardtrace token issue`."
    ]
    assert not shows_the_plant(app)
    assert not app.exception


def test_an_empty_token_is_refused_with_what_to_do(plant: FixturePlant) -> None:
    app = submit_token("   ")

    assert "cardtrace token issue" in app.error[0].value
    assert not shows_the_plant(app)


def test_an_operators_token_does_not_open_the_dashboard(plant: FixturePlant) -> None:
    app = submit_token(plant.operator_token)

    assert app.error[0].value == (
        "OP-7 holds role operator; the dashboard is for the roles planner, analyst, manager, admin."
    )
    assert not shows_the_plant(app)


@pytest.mark.parametrize("role", ["planner", "analyst", "manager"])
def test_planners_analysts_and_managers_are_let_in(plant: FixturePlant, role: str) -> None:
    app = sign_in(getattr(plant, f"{role}_token"))

    assert shows_the_plant(app)
    assert not app.error
    assert app.sidebar.caption[0].value.endswith(f"({role})")


def test_signing_out_brings_the_gate_back(plant: FixturePlant) -> None:
    app = sign_in(plant.analyst_token)

    app.sidebar.button[0].click().run()

    assert [title.value for title in app.title] == ["cardtrace"]
    assert not shows_the_plant(app)


def test_a_revoked_token_ends_the_dashboard_session_it_opened(plant: FixturePlant) -> None:
    token = issue_token(plant.data_dir, "planner", subject="PLN-leaving")
    app = sign_in(token)
    assert shows_the_plant(app)

    revoke_tokens(plant.data_dir, subject="PLN-leaving")
    time.sleep(REFRESH_SECONDS + 0.1)  # the app's token book looks at the file at most once a second
    app.run()

    assert [title.value for title in app.title] == ["cardtrace"]
    assert [warning.value for warning in app.warning] == [
        "The token PLN-leaving signed in with was revoked. Sign in again."
    ]
    assert not shows_the_plant(app)
    assert not app.exception


def test_a_token_file_that_cannot_be_read_is_named_at_sign_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plant: FixturePlant
) -> None:
    broken = DataDir(root=tmp_path / "broken-plant")
    broken.tokens_path.parent.mkdir(parents=True, exist_ok=True)
    broken.tokens_path.write_text("{ half a file")
    monkeypatch.setenv("CARDTRACE_DATA", str(broken.root))

    app = submit_token(plant.planner_token)

    assert app.error[0].value.startswith("The plant's token file cannot be read, so this token cannot be checked.")
    assert str(broken.root) not in app.error[0].value
    assert not shows_the_plant(app)


OIDC_SECRETS = {
    "auth": {
        "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
        "cookie_secret": "not-a-real-secret",
        "client_id": "cardtrace",
        "client_secret": "not-a-real-secret",
        "server_metadata_url": "https://login.example.com/.well-known/openid-configuration",
    },
    "cardtrace": {"oidc_role": "planner"},
}


def oidc_app(user: dict[str, object]) -> AppTest:
    app = AppTest.from_file(str(ENTRYPOINT), default_timeout=120)
    app.secrets = OIDC_SECRETS
    app.user = user
    return app.run()


def test_with_oidc_configured_the_app_offers_the_providers_login_instead_of_a_token(plant: FixturePlant) -> None:
    app = oidc_app({"is_logged_in": False})

    assert [button.label for button in app.main.button] == ["Log in"]
    assert not app.text_input
    assert not shows_the_plant(app)


def test_an_oidc_user_without_a_role_claim_gets_the_configured_role(plant: FixturePlant) -> None:
    app = oidc_app({"is_logged_in": True, "email": "ana@plant.example"})

    assert shows_the_plant(app)
    assert app.sidebar.caption[0].value == "Signed in as **ana@plant.example** (planner)"


def test_an_oidc_users_role_claim_must_be_a_dashboard_role(plant: FixturePlant) -> None:
    app = oidc_app({"is_logged_in": True, "email": "op@plant.example", "cardtrace_role": "operator"})

    assert app.error[0].value.startswith("op@plant.example holds role operator")
    assert not shows_the_plant(app)
