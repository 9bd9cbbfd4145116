/*
 * ctl.h - administration commands on the data folder, with rabbitmqctl's
 * verbs (`warren add_user NAME PASSWORD`, `warren set_permissions -p / NAME
 * '.*' '.*' '.*'`, ...). They open the store as the broker does, so they run
 * while the broker is stopped; the store's lock refuses them otherwise.
 */
#ifndef WRN_CTL_H
#define WRN_CTL_H

#ifdef __cplusplus
extern "C" {
#endif

/* argv[0] is the command. Returns the process exit status. */
int wrn_ctl_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* WRN_CTL_H */
