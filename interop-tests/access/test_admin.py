"""The administration verbs themselves: their listings, and their refusals
(unknown user or vhost, invalid regular expression, duplicate user) with a
non-zero exit, a message naming the culprit and nothing changed.

Warren's commands run while its broker is stopped, so every command is run
in setup_target and the tests look at the recorded results; only the last
test runs a command against the running broker, which must refuse because
the data folder is in use.
"""
import pytest

from conftest import MODE, PASSWORD, open_refusal, ping


def setup_target(t):
    t.vhost = t.name("admin")
    t.add_vhost(t.vhost)
    t.user = t.name("user")
    t.add_user(t.user)
    t.set_permissions(t.vhost, t.user, ".*", "", "^r-.*")
    t.tagged = t.name("tagged")
    t.add_user(t.tagged)
    t.ctl("set_user_tags", t.tagged, "administrator", "monitoring")
    t.missing_user = t.name("nobody")
    t.missing_vhost = t.name("nowhere")
    t.results = {
        "unknown user": t.run_ctl("set_permissions", "-p", t.vhost, t.missing_user,
                                  ".*", ".*", ".*"),
        "unknown vhost": t.run_ctl("set_permissions", "-p", t.missing_vhost, t.user,
                                   ".*", ".*", ".*"),
        "invalid regex": t.run_ctl("set_permissions", "-p", t.vhost, t.user, "acc[", "", ""),
        "duplicate user": t.run_ctl("add_user", t.user, "other-password"),
        "delete unknown user": t.run_ctl("delete_user", t.missing_user),
    }
    t.list_permissions = t.ctl("list_permissions", "-p", t.vhost)
    t.list_users = t.ctl("list_users")
    t.list_root = t.ctl("list_permissions", "-p", "/")


def lines(text):
    return text.splitlines()


@pytest.mark.parametrize("case, culprit", [
    ("unknown user", "missing_user"), ("unknown vhost", "missing_vhost"),
    ("invalid regex", None), ("duplicate user", "user"), ("delete unknown user", "missing_user"),
])
def test_refused_command_exits_non_zero_naming_the_culprit(target, case, culprit):
    r = target.results[case]
    assert r.returncode != 0
    said = r.stdout + r.stderr
    assert (getattr(target, culprit) if culprit else "acc[") in said, said
    if case == "duplicate user":
        assert "already exists" in said


def test_refused_commands_changed_nothing(target):
    assert "%s\t.*\t\t^r-.*" % target.user in lines(target.list_permissions)
    assert not any(line.startswith(target.missing_user) for line in lines(target.list_permissions))
    # the duplicate add_user kept the first password
    conn = target.connect(target.user, PASSWORD, target.vhost)
    ping(conn.channel())
    conn.close()


def test_list_users_shows_tags(target):
    assert "%s\t[administrator, monitoring]" % target.tagged in lines(target.list_users)
    assert "%s\t[]" % target.user in lines(target.list_users)


def test_list_permissions_shows_the_patterns(target):
    assert "user\tconfigure\twrite\tread" in lines(target.list_permissions)


def test_default_user_is_an_administrator_with_everything_on_the_default_vhost(target):
    assert "guest\t[administrator]" in lines(target.list_users)
    assert "guest\t.*\t.*\t.*" in lines(target.list_root)


@pytest.mark.skipif(MODE != "warren", reason="Warren's commands work on its stopped data folder")
def test_command_while_the_broker_runs_says_the_folder_is_in_use(target):
    assert target.running()
    late = target.name("late")
    r = target.run_ctl("add_user", late, PASSWORD)
    assert r.returncode != 0
    assert "in use" in (r.stdout + r.stderr).lower(), r.stdout + r.stderr
    assert target.running()
    code, _text = open_refusal(lambda: target.connect(late, PASSWORD, "/"))
    assert code == 403
