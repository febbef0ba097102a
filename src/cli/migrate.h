/* migrate.h - `secdefaultsctl migrate --to etcd|dir`. */
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

#endif
