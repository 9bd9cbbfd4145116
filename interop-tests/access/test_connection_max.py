"""connection_max = 3 in the settings file (Warren only). RabbitMQ 3.10
passes the setting to its TCP acceptor, which stops accepting: the fourth
client hangs in the listen backlog until a slot frees. Since 3.11.12 RabbitMQ
accepts it and refuses its connection.open with 530, the behaviour Warren
follows."""
from conftest import PASSWORD, connect_when_freed, open_refusal, ping

CONFIG = ["connection_max = 3"]
FULL = (530, "NOT_ALLOWED - connection refused: node connection limit (3) is reached")


def setup_target(t):
    t.user = t.name("user")
    t.add_user(t.user)
    t.set_permissions("/", t.user, ".*", ".*", ".*")


def test_fourth_connection_is_refused(target):
    conns = [target.connect(target.user) for _ in range(3)]
    assert open_refusal(lambda: target.connect(target.user)) == FULL
    assert open_refusal(lambda: target.connect("guest", "guest")) == FULL
    for c in conns:
        ping(c.channel())
    conns[0].close()
    again = connect_when_freed(target, target.user, PASSWORD, "/")
    ping(again.channel())
    target.close_connections()
