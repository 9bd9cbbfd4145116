/*
 * config_test.cc - defaults, the rabbitmq.conf-style file (comments, spaces,
 * unknown keys, bad values reported as file:line) and flags over the file.
 */
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <unistd.h>
#include <vector>

extern "C" {
#include "config.h"
#include "log.h"
}

namespace
{

/* A temporary file with the given contents, removed when the test ends. */
class TempFile
{
  public:
    explicit TempFile(const std::string &contents)
    {
        path_ = testing::TempDir() + "warren-conf-XXXXXX";
        int fd = mkstemp(&path_[0]);
        EXPECT_GE(fd, 0);
        if (fd >= 0) {
            EXPECT_EQ(write(fd, contents.data(), contents.size()),
                      static_cast<ssize_t>(contents.size()));
            close(fd);
        }
    }
    ~TempFile()
    {
        unlink(path_.c_str());
    }
    const std::string &
    path() const
    {
        return path_;
    }

  private:
    std::string path_;
};

/* Runs wrn_config_from_args with a writable argv. */
int
FromArgs(struct wrn_config *c, std::vector<std::string> args)
{
    std::vector<char *> argv;
    args.insert(args.begin(), "warren");
    for (auto &a : args)
        argv.push_back(&a[0]);
    argv.push_back(NULL);
    int command = 0;
    return wrn_config_from_args(c, static_cast<int>(args.size()), argv.data(), &command);
}

class Config : public ::testing::Test
{
  protected:
    void
    SetUp() override
    {
        unsetenv("WARREN_CONFIG_FILE");
        wrn_config_defaults(&c);
    }
    void
    TearDown() override
    {
        unsetenv("WARREN_CONFIG_FILE");
    }

    int
    Load(const TempFile &f)
    {
        return wrn_config_load_file(&c, f.path().c_str(), err, sizeof(err));
    }

    struct wrn_config c;
    char err[1024] = "";
};

TEST_F(Config, Defaults)
{
    EXPECT_EQ(c.port, 5672);
    EXPECT_STREQ(c.bind, "0.0.0.0");
    EXPECT_EQ(c.frame_max, 131072u);
    EXPECT_EQ(c.channel_max, 2047u);
    EXPECT_EQ(c.heartbeat, 60u);
    EXPECT_STREQ(c.default_user, "guest");
    EXPECT_STREQ(c.default_pass, "guest");
    EXPECT_STREQ(c.default_vhost, "/");
    EXPECT_EQ(c.log_level, WRN_LOG_INFO);
    EXPECT_STREQ(c.config_file, "");
    EXPECT_EQ(FromArgs(&c, {}), 0);
    EXPECT_EQ(c.port, 5672);
}

TEST_F(Config, FileWithCommentsAndSpaces)
{
    TempFile f("# Warren settings\n"
               "\n"
               "listeners.tcp.default = 5673\n"
               "  heartbeat=30   # seconds\n"
               "\tframe_max =  65536\t\n"
               "channel_max = 100\n"
               "default_user = alice\n"
               "default_pass = s3cret\n"
               "default_vhost = /prod\n"
               "log.level = debug\n"
               "   # indented comment\n"
               "loopback_users.guest = false\n");

    ASSERT_EQ(Load(f), 0) << err;
    EXPECT_EQ(c.port, 5673);
    EXPECT_STREQ(c.bind, "0.0.0.0");
    EXPECT_EQ(c.heartbeat, 30u);
    EXPECT_EQ(c.frame_max, 65536u);
    EXPECT_EQ(c.channel_max, 100u);
    EXPECT_STREQ(c.default_user, "alice");
    EXPECT_STREQ(c.default_pass, "s3cret");
    EXPECT_STREQ(c.default_vhost, "/prod");
    EXPECT_EQ(c.log_level, WRN_LOG_DEBUG);
    EXPECT_EQ(f.path(), c.config_file);
}

TEST_F(Config, ListenerWithAddress)
{
    TempFile v4("listeners.tcp.default = 127.0.0.1:5673\n");
    ASSERT_EQ(Load(v4), 0) << err;
    EXPECT_STREQ(c.bind, "127.0.0.1");
    EXPECT_EQ(c.port, 5673);

    TempFile v6("listeners.tcp.default = [::1]:5674\n");
    ASSERT_EQ(Load(v6), 0) << err;
    EXPECT_STREQ(c.bind, "::1");
    EXPECT_EQ(c.port, 5674);
}

TEST_F(Config, UnknownKeyWarnsButPasses)
{
    TempFile f("heartbeat = 10\n"
               "cluster_formation.peer_discovery_backend = classic_config\n"
               "channel_max = 7\n");

    testing::internal::CaptureStderr();
    int rc = Load(f);
    std::string log = testing::internal::GetCapturedStderr();
    ASSERT_EQ(rc, 0) << err;
    EXPECT_EQ(c.heartbeat, 10u);
    EXPECT_EQ(c.channel_max, 7u);
    EXPECT_NE(log.find(f.path() + ":2:"), std::string::npos) << log;
    EXPECT_NE(log.find("cluster_formation.peer_discovery_backend"), std::string::npos) << log;
}

TEST_F(Config, BadValueIsAnErrorWithFileAndLine)
{
    const char *bad[] = {
        "heartbeat = abc\n",
        "heartbeat = 70000\n",
        "heartbeat = -1\n",
        "frame_max = 1000\n",
        "channel_max = 65536\n",
        "log.level = loud\n",
        "listeners.tcp.default = x\n",
        "listeners.tcp.default = 1.2.3.4:\n",
        "listeners.tcp.default = 99999\n",
        "heartbeat =\n",
    };
    for (const char *line : bad) {
        TempFile f(std::string("# first\nchannel_max = 9\n") + line);
        struct wrn_config fresh;
        wrn_config_defaults(&fresh);
        err[0] = '\0';
        EXPECT_EQ(wrn_config_load_file(&fresh, f.path().c_str(), err, sizeof(err)), -1) << line;
        EXPECT_EQ(std::string(err).rfind(f.path() + ":3: ", 0), 0u) << line << " -> " << err;
        EXPECT_STREQ(fresh.config_file, "") << line;
    }
}

TEST_F(Config, LineWithoutEqualsIsAnError)
{
    TempFile f("heartbeat = 5\njust words\n");
    EXPECT_EQ(Load(f), -1);
    EXPECT_EQ(std::string(err), f.path() + ":2: expected 'key = value'");
}

TEST_F(Config, FrameMaxZeroMeansNoLimit)
{
    TempFile f("frame_max = 0\n");
    ASSERT_EQ(Load(f), 0) << err;
    EXPECT_EQ(c.frame_max, 0u);
}

std::string
MissingPath()
{
    return testing::TempDir() + "warren-no-such-dir/warren.conf";
}

TEST_F(Config, MissingFileIsAnError)
{
    EXPECT_EQ(wrn_config_load_file(&c, MissingPath().c_str(), err, sizeof(err)), -1);
    EXPECT_EQ(std::string(err).rfind(MissingPath() + ": ", 0), 0u) << err;
}

TEST_F(Config, SetReportsUnknownKeys)
{
    EXPECT_EQ(wrn_config_set(&c, "no.such.key", "1", err, sizeof(err)), 1);
    EXPECT_EQ(wrn_config_set(&c, "heartbeat", "0", err, sizeof(err)), 0);
    EXPECT_EQ(c.heartbeat, 0u);
    EXPECT_EQ(wrn_config_set(&c, "heartbeat", "x", err, sizeof(err)), -1);
    EXPECT_STREQ(err, "invalid value 'x' for heartbeat");
}

TEST_F(Config, FlagsOverrideTheFile)
{
    TempFile f("listeners.tcp.default = 127.0.0.1:5673\nheartbeat = 5\n");

    ASSERT_EQ(FromArgs(&c, {"--config", f.path(), "--port", "6000"}), 0);
    EXPECT_EQ(c.port, 6000);
    EXPECT_STREQ(c.bind, "127.0.0.1");
    EXPECT_EQ(c.heartbeat, 5u);
    EXPECT_EQ(f.path(), c.config_file);

    /* the file is read first even when named after the flags */
    wrn_config_defaults(&c);
    ASSERT_EQ(FromArgs(&c, {"--port", "6001", "--bind", "::", "--config", f.path()}), 0);
    EXPECT_EQ(c.port, 6001);
    EXPECT_STREQ(c.bind, "::");

    wrn_config_defaults(&c);
    ASSERT_EQ(FromArgs(&c, {"--log-level", "warning"}), 0);
    EXPECT_EQ(c.log_level, WRN_LOG_WARNING);
}

TEST_F(Config, EnvironmentNamesTheFile)
{
    TempFile f("heartbeat = 11\n");
    setenv("WARREN_CONFIG_FILE", f.path().c_str(), 1);
    ASSERT_EQ(FromArgs(&c, {}), 0);
    EXPECT_EQ(c.heartbeat, 11u);

    TempFile g("heartbeat = 12\n"); /* --config wins over the environment */
    wrn_config_defaults(&c);
    ASSERT_EQ(FromArgs(&c, {"--config", g.path()}), 0);
    EXPECT_EQ(c.heartbeat, 12u);
}

TEST_F(Config, HelpReturnsOne)
{
    testing::internal::CaptureStdout();
    int rc = FromArgs(&c, {"--port", "1", "--help"});
    std::string out = testing::internal::GetCapturedStdout();
    EXPECT_EQ(rc, 1);
    EXPECT_NE(out.find("--port"), std::string::npos);
    testing::internal::CaptureStdout();
    EXPECT_EQ(FromArgs(&c, {"-h"}), 1);
    testing::internal::GetCapturedStdout();
}

TEST_F(Config, BadFlagsReturnMinusOne)
{
    TempFile broken("heartbeat = nope\n");
    const std::vector<std::vector<std::string>> bad = {
        {"--verbose"},
        {"--verbose", "1"},
        {"--port", "6000", "--verbose", "1"},
        {"--port"},
        {"--port", "http"},
        {"--port", "70000"},
        {"--log-level", "chatty"},
        {"--bind", std::string(100, 'a')},
        {"--config", broken.path()},
        {"--config", MissingPath()},
    };
    for (const auto &args : bad) {
        struct wrn_config fresh;
        wrn_config_defaults(&fresh);
        testing::internal::CaptureStderr();
        int rc = FromArgs(&fresh, args);
        std::string msg = testing::internal::GetCapturedStderr();
        EXPECT_EQ(rc, -1) << args[0];
        EXPECT_NE(msg.find("warren: "), std::string::npos) << args[0];
    }
}

} // namespace
