/* store_dir.c - the state directory backend.
 *
 *   STATE_DIR/            0700 root
 *     users/NAME          0600 root  inspectable state (secdefaults-state(5))
 *     secrets/NAME        0600 root  TOTP key and hashed recovery codes
 *     locks/NAME          0600 root  OFD lock target, never unlinked
 *
 * Every open is relative to a directory fd with O_NOFOLLOW and is checked
 * with fstat (regular file, owner, mode, one link, size). Updates write a
 * temporary file, fsync it, rename it over the old one and fsync the
 * directory. The temporary name is fixed per user (".NAME.tmp"): the user's
 * lock is held while it exists, so it cannot collide and debris from a crash
 * is bounded to one file per user.
 *
 * Counters (counters.h): a save under the lock that changes only failures,
 * last_step, last_totp and location times is written as a counters record
 * into the lock file instead, in place: two slots of SD_COUNTERS_SLOT bytes,
 * each write going to the slot that does not hold the newest durable record,
 * then fdatasync. A load reads the state file, then both slots, and applies
 * the newest record whose checksum matches and whose id is the state file's
 * "counters" id. Every replacement of the state file gets a new random id,
 * so older records stop applying the moment the new file is in place. A
 * record written with SD_SAVE_NOSYNC says "pending"; whoever next loads it
 * under the lock makes it durable (fdatasync) before writing the other
 * slot, so a record that was acknowledged is never the one overwritten. */
#include "config.h"

#include "counters.h"
#include "store.h"
#include "user.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct dir_store {
	struct sd_store base;
	int root_fd, users_fd, secrets_fd, locks_fd; /* -1 when missing (read-only) */
	int lock_fd;
	char path[256];
	/* The lock session: the locked user and what was loaded or saved under
	 * the lock (the base a counters-only save is compared with). */
	char locked[SD_USER_MAX + 1];
	int have_loaded;
	struct sd_state loaded;
	uint64_t gen;	  /* "counters" id of the state file; 0 = none */
	uint64_t seq;	  /* sequence number of the newest record (0 = none) */
	int durable_slot; /* slot holding the newest durable record, or -1 */
	int pending_slot; /* slot holding a record written without sync, or -1 */
	int file_dirty;	  /* the state file was replaced without fsync */
};

static const struct sd_store_ops dir_ops;

static int owner_ok(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* Open (and with CREATE make) directory NAME under DIRFD (or the absolute
 * PATH when DIRFD is -1), then check it is a private directory. */
static int open_dir(int dirfd, const char *name, int create, int *out, struct sd_err *err,
		    const char *what)
{
	struct stat st;
	int fd;

	fd = openat(dirfd < 0 ? AT_FDCWD : dirfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(dirfd < 0 ? AT_FDCWD : dirfd, name, 0700) != 0 && errno != EEXIST) {
			sd_err_set(err, "cannot create %s %s: %s", what, name, strerror(errno));
			return -errno;
		}
		fd = openat(dirfd < 0 ? AT_FDCWD : dirfd, name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && fchmod(fd, 0700) != 0) {
			int e = errno;

			close(fd);
			sd_err_set(err, "cannot chmod %s %s: %s", what, name, strerror(e));
			return -e;
		}
	}
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT && !create) {
			*out = -1;
			return 0;
		}
		sd_err_set(err, "cannot open %s %s: %s%s", what, name, strerror(e),
			   (e == ELOOP || e == ENOTDIR) ? " (a symlink or not a directory)" : "");
		return -e;
	}
	if (fstat(fd, &st) != 0) {
		int e = errno;

		close(fd);
		sd_err_set(err, "cannot stat %s %s: %s", what, name, strerror(e));
		return -e;
	}
	if (!owner_ok(st.st_uid) || (st.st_mode & 077) != 0) {
		close(fd);
		sd_err_set(err, "unsafe %s %s: owner uid %u mode %04o, must be root and 0700", what,
			   name, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	*out = fd;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int sd_store_dir_open(const struct sd_config *c, unsigned flags, struct sd_store **out,
		      struct sd_err *err)
{
	struct dir_store *d;
	int create = !(flags & SD_STORE_READONLY);
	int rc;

	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		sd_err_set(err, "out of memory");
		return -ENOMEM;
	}
	d->base.ops = &dir_ops;
	d->root_fd = d->users_fd = d->secrets_fd = d->locks_fd = d->lock_fd = -1;
	d->durable_slot = d->pending_slot = -1;
	snprintf(d->path, sizeof(d->path), "%s", c->state_dir);
	rc = open_dir(-1, c->state_dir, create, &d->root_fd, err, "state directory");
	if (rc == 0 && d->root_fd >= 0)
		rc = open_dir(d->root_fd, "users", create, &d->users_fd, err, "state directory");
	if (rc == 0 && d->root_fd >= 0)
		rc = open_dir(d->root_fd, "secrets", create, &d->secrets_fd, err,
			      "secrets directory");
	if (rc == 0 && d->root_fd >= 0)
		rc = open_dir(d->root_fd, "locks", create, &d->locks_fd, err, "lock directory");
	if (rc != 0) {
		dir_ops.close(&d->base);
		return rc;
	}
	*out = &d->base;
	return 0;
}

static void dir_close(struct sd_store *s)
{
	struct dir_store *d = (struct dir_store *)s;

	close_fd(&d->lock_fd);
	close_fd(&d->users_fd);
	close_fd(&d->secrets_fd);
	close_fd(&d->locks_fd);
	close_fd(&d->root_fd);
	free(d);
}

static int check_user(const char *user, struct sd_err *err)
{
	if (sd_user_name_valid(user) != 0) {
		sd_err_set(err, "invalid user name");
		return -EINVAL;
	}
	return 0;
}

/* fstat checks shared by every file we read or lock. */
static int check_file(int fd, const char *what, const char *user, struct sd_err *err)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		sd_err_set(err, "cannot stat %s of %s: %s", what, user, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		sd_err_set(err, "unsafe %s of %s: not a regular file", what, user);
		return -EPERM;
	}
	if (!owner_ok(st.st_uid) || (st.st_mode & 077) != 0) {
		sd_err_set(err, "unsafe %s of %s: owner uid %u mode %04o, must be root and 0600",
			   what, user, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	if (st.st_nlink != 1) {
		sd_err_set(err, "unsafe %s of %s: %lu hard links", what, user,
			   (unsigned long)st.st_nlink);
		return -EPERM;
	}
	if (st.st_size > SD_STATE_MAX_SIZE) {
		sd_err_set(err, "%s of %s is too large (%lld bytes)", what, user,
			   (long long)st.st_size);
		return -EFBIG;
	}
	return 0;
}

/* Forget what was loaded and written under the lock (the next save
 * replaces the state file). */
static void forget_loaded(struct dir_store *d)
{
	d->have_loaded = 0;
	d->gen = 0;
	d->seq = 0;
	d->durable_slot = d->pending_slot = -1;
	d->file_dirty = 0;
}

/* Forget the last lock session. */
static void session_reset(struct dir_store *d)
{
	d->locked[0] = '\0';
	forget_loaded(d);
}

/* Is USER's lock held by this store? */
static int holds_lock(const struct dir_store *d, const char *user)
{
	return d->lock_fd >= 0 && strcmp(d->locked, user) == 0;
}

static int dir_lock(struct sd_store *s, const char *user, struct sd_err *err)
{
	struct dir_store *d = (struct dir_store *)s;
	struct flock fl;
	long waited_ms = 0, step_ms = 1;
	int fd, rc;

	if ((rc = check_user(user, err)) != 0)
		return rc;
	if (d->locks_fd < 0) {
		sd_err_set(err, "state directory is read-only here");
		return -EROFS;
	}
	if (d->lock_fd >= 0) {
		sd_err_set(err, "internal: a lock is already held");
		return -EDEADLK;
	}
	fd = openat(d->locks_fd, user,
		    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
	if (fd < 0) {
		rc = -errno;
		sd_err_set(err, "cannot open lock of %s: %s", user, strerror(errno));
		return rc;
	}
	rc = check_file(fd, "lock file", user, err);
	if (rc != 0) {
		close(fd);
		return rc;
	}
	for (;;) {
		struct timespec ts;

		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
			break;
		if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
			rc = -errno;
			sd_err_set(err, "cannot lock state of %s: %s", user, strerror(errno));
			close(fd);
			return rc;
		}
		if (waited_ms >= SD_LOCK_WAIT_MS) {
			sd_err_set(err, "state of %s is locked by another sign-in (waited %ld ms)",
				   user, waited_ms);
			close(fd);
			return -ETIMEDOUT;
		}
		ts.tv_sec = 0;
		ts.tv_nsec = step_ms * 1000000L;
		nanosleep(&ts, NULL);
		waited_ms += step_ms;
		if (step_ms < 16)
			step_ms *= 2;
	}
	d->lock_fd = fd;
	session_reset(d);
	snprintf(d->locked, sizeof(d->locked), "%s", user);
	return 0;
}

static void dir_unlock(struct sd_store *s)
{
	struct dir_store *d = (struct dir_store *)s;

	/* Closing the descriptor releases the OFD lock. A record written
	 * without sync stays "pending" for the next session to make durable. */
	close_fd(&d->lock_fd);
	session_reset(d);
}

/* Read a whole checked file into a malloc'd, NUL-terminated buffer. */
static int read_file(int dirfd, const char *user, const char *what, char **out, size_t *outlen,
		     struct sd_err *err)
{
	char *buf;
	size_t len = 0;
	int fd, rc;

	if (dirfd < 0)
		return -ENOENT;
	fd = openat(dirfd, user, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		if (rc != -ENOENT)
			sd_err_set(err, "cannot open %s of %s: %s%s", what, user, strerror(errno),
				   errno == ELOOP ? " (a symlink)" : "");
		return rc;
	}
	rc = check_file(fd, what, user, err);
	if (rc != 0) {
		close(fd);
		return rc;
	}
	buf = malloc(SD_STATE_MAX_SIZE + 1);
	if (buf == NULL) {
		close(fd);
		sd_err_set(err, "out of memory");
		return -ENOMEM;
	}
	for (;;) {
		ssize_t got = read(fd, buf + len, SD_STATE_MAX_SIZE + 1 - len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = -errno;
			sd_err_set(err, "cannot read %s of %s: %s", what, user, strerror(errno));
			break;
		}
		if (got == 0)
			break;
		len += (size_t)got;
		if (len > SD_STATE_MAX_SIZE) {
			rc = -EFBIG;
			sd_err_set(err, "%s of %s is too large", what, user);
			break;
		}
	}
	close(fd);
	if (rc != 0) {
		sd_wipe(buf, SD_STATE_MAX_SIZE + 1);
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Replace DIRFD/USER with DATA atomically. */
static int replace_file(int dirfd, const char *user, const char *what, const char *data, size_t len,
			unsigned flags, struct sd_err *err)
{
	char tmp[SD_USER_MAX + 8];
	int fd, rc;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", user);
	if (unlinkat(dirfd, tmp, 0) != 0 && errno != ENOENT) {
		rc = -errno;
		sd_err_set(err, "cannot remove stale %s: %s", tmp, strerror(errno));
		return rc;
	}
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
		    0600);
	if (fd < 0) {
		rc = -errno;
		sd_err_set(err, "cannot create %s for %s: %s", what, user, strerror(errno));
		return rc;
	}
	rc = fchmod(fd, 0600) != 0 ? -errno : 0;
	if (rc == 0)
		rc = write_all(fd, data, len);
	if (rc == 0 && !(flags & SD_SAVE_NOSYNC) && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(dirfd, tmp, dirfd, user) != 0)
		rc = -errno;
	if (rc != 0) {
		sd_err_set(err, "cannot write %s of %s: %s", what, user, strerror(-rc));
		unlinkat(dirfd, tmp, 0);
		return rc;
	}
	if (!(flags & SD_SAVE_NOSYNC) && fsync(dirfd) != 0) {
		rc = -errno;
		sd_err_set(err, "cannot sync directory for %s: %s", user, strerror(errno));
		return rc;
	}
	return 0;
}

/* Read both counters slots of USER's lock file (through the held lock when
 * it is USER's, else opened read-only; no lock file, no records) and pick
 * the newest record that belongs to GEN. 0 with *BEST the slot or -1;
 * -errno with ERR on a read error or a malformed record. */
static int read_counters(struct dir_store *d, const char *user, uint64_t gen, struct sd_counters *c,
			 int *best, struct sd_err *err)
{
	struct sd_counters tmp;
	char buf[2 * SD_COUNTERS_SLOT], why[160];
	ssize_t got;
	int fd, rc, i;

	*best = -1;
	if (gen == 0)
		return 0; /* a file without an id has no records */
	if (holds_lock(d, user)) {
		fd = d->lock_fd;
	} else {
		if (d->locks_fd < 0)
			return 0;
		fd = openat(d->locks_fd, user,
			    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0 && errno == ENOENT)
			return 0;
		if (fd < 0) {
			rc = -errno;
			sd_err_set(err, "cannot open lock file of %s: %s%s", user, strerror(errno),
				   errno == ELOOP ? " (a symlink)" : "");
			return rc;
		}
		rc = check_file(fd, "lock file", user, err);
		if (rc != 0) {
			close(fd);
			return rc;
		}
	}
	do
		got = pread(fd, buf, sizeof(buf), 0);
	while (got < 0 && errno == EINTR);
	rc = got < 0 ? -errno : 0;
	if (fd != d->lock_fd)
		close(fd);
	if (rc != 0) {
		sd_err_set(err, "cannot read lock file of %s: %s", user, strerror(-rc));
		return rc;
	}
	for (i = 0; i < 2 && got > i * SD_COUNTERS_SLOT; i++) {
		size_t n = (size_t)got - (size_t)i * SD_COUNTERS_SLOT;

		rc = sd_counters_parse(buf + i * SD_COUNTERS_SLOT,
				       n < SD_COUNTERS_SLOT ? n : SD_COUNTERS_SLOT, &tmp, why,
				       sizeof(why));
		if (rc == -ENOENT)
			continue; /* never written, or torn: the other slot holds the last */
		if (rc != 0) {
			sd_err_set(err, "corrupt counters record in %s/locks/%s: %s", d->path, user,
				   why);
			return -EBADMSG;
		}
		if (tmp.gen == gen && (*best < 0 || tmp.seq > c->seq)) {
			*c = tmp;
			*best = i;
		}
	}
	return 0;
}

static int dir_load(struct sd_store *s, const char *user, struct sd_state *st, struct sd_err *err)
{
	struct dir_store *d = (struct dir_store *)s;
	struct sd_counters c;
	char why[160];
	char *buf;
	size_t len;
	uint64_t gen;
	int rc, best;

	memset(st, 0, sizeof(*st));
	if ((rc = check_user(user, err)) != 0)
		return rc;
	rc = read_file(d->users_fd, user, "state file", &buf, &len, err);
	if (rc != 0)
		return rc;
	rc = sd_state_parse_gen(buf, len, st, &gen, why, sizeof(why));
	free(buf);
	if (rc != 0) {
		sd_err_set(err, "corrupt state file %s/users/%s: %s", d->path, user, why);
		memset(st, 0, sizeof(*st));
		return -EBADMSG;
	}
	rc = read_counters(d, user, gen, &c, &best, err);
	if (rc == 0 && best >= 0 && sd_counters_put(st, &c) != 0) {
		sd_err_set(err, "counters record in %s/locks/%s does not match the state file",
			   d->path, user);
		rc = -EBADMSG;
	}
	if (rc == 0 && best >= 0 && c.pending && holds_lock(d, user) &&
	    fdatasync(d->lock_fd) != 0) {
		/* Written before a code was checked by a sign-in that ended
		 * before syncing it: durable before anything overwrites the
		 * other slot. */
		rc = -errno;
		sd_err_set(err, "cannot sync lock file of %s: %s", user, strerror(errno));
	}
	if (rc != 0) {
		memset(st, 0, sizeof(*st));
		return rc;
	}
	if (holds_lock(d, user)) {
		d->have_loaded = 1;
		d->loaded = *st;
		d->gen = gen;
		d->seq = best >= 0 ? c.seq : 0;
		d->durable_slot = best;
		d->pending_slot = -1;
	}
	return 0;
}

/* Write ST's counters as the next record, into the slot that does not hold
 * the newest durable one; then fdatasync unless SD_SAVE_NOSYNC. -E2BIG
 * when the record does not fit a slot (the caller replaces the file). */
static int write_counters(struct dir_store *d, const char *user, const struct sd_state *st,
			  uint64_t seq, int pending, int slot, struct sd_err *err)
{
	struct sd_counters c;
	char buf[SD_COUNTERS_SLOT];
	size_t len, off = 0;
	int rc = 0;

	sd_counters_get(st, &c);
	c.gen = d->gen;
	c.seq = seq;
	c.pending = pending;
	if (sd_counters_format(&c, buf, sizeof(buf), &len) != 0)
		return -E2BIG;
	len++; /* with its NUL: a longer record before it ends here */
	while (off < len) {
		ssize_t w = pwrite(d->lock_fd, buf + off, len - off,
				   (off_t)slot * SD_COUNTERS_SLOT + (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = w < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)w;
	}
	if (rc == 0 && !pending && fdatasync(d->lock_fd) != 0)
		rc = -errno;
	if (rc != 0) {
		/* The slot written may be torn; the other one is whole. */
		sd_err_set(err, "cannot write counters of %s: %s", user, strerror(-rc));
		d->have_loaded = 0;
	}
	return rc;
}

static int save_counters(struct dir_store *d, const char *user, const struct sd_state *st,
			 unsigned flags, struct sd_err *err)
{
	int pending = (flags & SD_SAVE_NOSYNC) != 0;
	int slot = d->durable_slot == 0 ? 1 : 0;
	int rc;

	rc = write_counters(d, user, st, d->seq + 1, pending, slot, err);
	if (rc != 0)
		return rc;
	d->seq++;
	d->loaded = *st;
	if (pending) {
		d->pending_slot = slot;
	} else {
		d->durable_slot = slot;
		d->pending_slot = -1;
	}
	return 0;
}

/* Give the lock file the blocks of both slots once, so counters records are
 * written into space the file already has: a full disk stops file
 * replacements, not sign-ins that only move counters. Best effort.
 *
 * Zeros are written past the end of the file (never over a record; a zero
 * slot reads as "no record") rather than fallocate'd: an fallocate'd block
 * is "unwritten" to ext4, and the first pwrite + fdatasync into it also
 * commits the extent's conversion, which made a user's first two sign-ins
 * after the file was created 8-10% slower (bench/RESULTS.md). A hole left
 * before the end (a slot written into an empty file) is still fallocate'd. */
static void preallocate_slots(struct dir_store *d)
{
	static const char zeros[2 * SD_COUNTERS_SLOT];
	struct stat st;

	if (fstat(d->lock_fd, &st) != 0 || st.st_blocks * 512 >= 2 * SD_COUNTERS_SLOT)
		return;
	if (st.st_size >= 0 && st.st_size < 2 * SD_COUNTERS_SLOT) {
		size_t n = (size_t)(2 * SD_COUNTERS_SLOT - st.st_size);

		if (pwrite(d->lock_fd, zeros, n, st.st_size) == (ssize_t)n && st.st_size == 0)
			return; /* all of it written: no hole left */
	}
	if (fstat(d->lock_fd, &st) == 0 && st.st_blocks * 512 < 2 * SD_COUNTERS_SLOT)
		(void)fallocate(d->lock_fd, 0, 0, 2 * SD_COUNTERS_SLOT);
}

static int dir_save(struct sd_store *s, const char *user, const struct sd_state *st, unsigned flags,
		    struct sd_err *err)
{
	struct dir_store *d = (struct dir_store *)s;
	uint64_t gen;
	char *text;
	size_t len;
	int rc;

	if ((rc = check_user(user, err)) != 0)
		return rc;
	if (!holds_lock(d, user)) {
		sd_err_set(err, "internal: state of %s saved without its lock", user);
		return -ENOLCK;
	}
	if (d->have_loaded && d->gen != 0 && !d->file_dirty &&
	    sd_state_same_but_counters(&d->loaded, st)) {
		rc = save_counters(d, user, st, flags, err);
		if (rc != -E2BIG)
			return rc;
	}
	/* Anything else replaces the file, under a new counters id. */
	do {
		if (getrandom(&gen, sizeof(gen), 0) != (ssize_t)sizeof(gen)) {
			rc = -errno;
			sd_err_set(err, "cannot get random bytes: %s", strerror(errno));
			return rc;
		}
	} while (gen == 0);
	if (sd_state_format_gen(st, user, gen, &text, &len) != 0) {
		sd_err_set(err, "out of memory");
		return -ENOMEM;
	}
	rc = replace_file(d->users_fd, user, "state file", text, len, flags, err);
	free(text);
	if (rc != 0) {
		d->have_loaded = 0; /* the file may or may not be in place */
		return rc;
	}
	d->have_loaded = 1;
	d->loaded = *st;
	d->gen = gen;
	d->seq = 0;
	d->durable_slot = d->pending_slot = -1;
	d->file_dirty = (flags & SD_SAVE_NOSYNC) != 0;
	preallocate_slots(d);
	return 0;
}

static int dir_sync(struct sd_store *s, const char *user, struct sd_err *err)
{
	struct dir_store *d = (struct dir_store *)s;
	int fd, rc = 0;

	if ((rc = check_user(user, err)) != 0)
		return rc;
	if (holds_lock(d, user) && d->have_loaded && d->pending_slot >= 0) {
		/* The same record again, no longer pending, then fdatasync. */
		rc = write_counters(d, user, &d->loaded, d->seq, 0, d->pending_slot, err);
		if (rc != 0)
			return rc;
		d->durable_slot = d->pending_slot;
		d->pending_slot = -1;
	}
	if (holds_lock(d, user) && !d->file_dirty)
		return 0;
	fd = openat(d->users_fd, user, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fsync(fd) != 0 || fsync(d->users_fd) != 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		sd_err_set(err, "cannot sync state of %s: %s", user, strerror(-rc));
	else
		d->file_dirty = 0;
	return rc;
}

static int dir_load_secret(struct sd_store *s, const char *user, struct sd_secret *sec,
			   struct sd_err *err)
{
	struct dir_store *d = (struct dir_store *)s;
	char why[160];
	char *buf;
	size_t len;
	int rc;

	memset(sec, 0, sizeof(*sec));
	if ((rc = check_user(user, err)) != 0)
		return rc;
	rc = read_file(d->secrets_fd, user, "secret file", &buf, &len, err);
	if (rc != 0)
		return rc;
	rc = sd_secret_parse(buf, len, sec, why, sizeof(why));
	sd_wipe(buf, len);
	free(buf);
	if (rc != 0) {
		sd_wipe(sec, sizeof(*sec));
		sd_err_set(err, "corrupt secret file %s/secrets/%s: %s", d->path, user, why);
		return -EBADMSG;
	}
	return 0;
}

static int dir_save_secret(struct sd_store *s, const char *user, const struct sd_secret *sec,
			   struct sd_err *err)
{
	struct dir_store *d = (struct dir_store *)s;
	char *text;
	size_t len;
	int rc;

	if ((rc = check_user(user, err)) != 0)
		return rc;
	if (d->lock_fd < 0) {
		sd_err_set(err, "internal: secret of %s saved without its lock", user);
		return -ENOLCK;
	}
	if (sd_secret_format(sec, &text, &len) != 0) {
		sd_err_set(err, "cannot format secret");
		return -ENOMEM;
	}
	rc = replace_file(d->secrets_fd, user, "secret file", text, len, 0, err);
	sd_wipe(text, len);
	free(text);
	return rc;
}

static int dir_remove(struct sd_store *s, const char *user, struct sd_err *err)
{
	struct dir_store *d = (struct dir_store *)s;
	int rc;

	if ((rc = check_user(user, err)) != 0)
		return rc;
	if (d->lock_fd < 0) {
		sd_err_set(err, "internal: state of %s removed without its lock", user);
		return -ENOLCK;
	}
	if (unlinkat(d->secrets_fd, user, 0) != 0 && errno != ENOENT) {
		rc = -errno;
		sd_err_set(err, "cannot remove secret of %s: %s", user, strerror(errno));
		return rc;
	}
	if (unlinkat(d->users_fd, user, 0) != 0 && errno != ENOENT) {
		rc = -errno;
		sd_err_set(err, "cannot remove state of %s: %s", user, strerror(errno));
		return rc;
	}
	/* Records in the lock file name the removed file's id: they no longer
	 * apply to anything, and the next save writes a new file. */
	forget_loaded(d);
	if (fsync(d->secrets_fd) != 0 || fsync(d->users_fd) != 0) {
		rc = -errno;
		sd_err_set(err, "cannot sync state directory: %s", strerror(errno));
		return rc;
	}
	return 0;
}

static int dir_list(struct sd_store *s, int (*cb)(const char *user, void *ctx), void *ctx,
		    struct sd_err *err)
{
	struct dir_store *d = (struct dir_store *)s;
	struct dirent *de;
	DIR *dir;
	int fd, rc = 0;

	if (d->users_fd < 0)
		return 0;
	fd = openat(d->users_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		sd_err_set(err, "cannot list state directory: %s", strerror(-rc));
		return rc;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.' || sd_user_name_valid(de->d_name) != 0)
			continue;
		rc = cb(de->d_name, ctx);
		if (rc != 0)
			break;
	}
	closedir(dir);
	return rc;
}

static const struct sd_store_ops dir_ops = {
	.name = "dir",
	.lock = dir_lock,
	.unlock = dir_unlock,
	.load = dir_load,
	.save = dir_save,
	.sync = dir_sync,
	.load_secret = dir_load_secret,
	.save_secret = dir_save_secret,
	.remove = dir_remove,
	.list = dir_list,
	.close = dir_close,
};
