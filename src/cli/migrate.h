/* migrate.h - `secdefaultsctl migrate --to etcd|dir`, and closing a store the way
 * every verb does. */
#ifndef SD_CLI_MIGRATE_H
#define SD_CLI_MIGRATE_H

/* Copy every user's state and secret from the backend CONFIG_PATH selects
 * (state_backend) to the other one (dir: state_dir; etcd: the etcd group of
 * the same file), read each back to verify it, and report counts on
 * stdout. ARGC/ARGV are the arguments after the word "migrate" (a leading
 * "migrate" is skipped too): --to etcd|dir, and --force to replace users
 * the destination already has. Returns an exit status: 0, 1 (failure) or 2
 * (usage). */
int sd_cli_migrate(const char *config_path, int argc, char **argv);

struct sd_store;
/* Close S after printing its note for the operator, if any, to stderr as
 * a warning (fleet mode: endpoints skipped). S may be NULL. */
void sd_cli_close_store(struct sd_store *s);

#endif
