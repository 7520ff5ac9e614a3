/* db.c — db.h for either engine: picks SQLite or PostgreSQL when a
 * connection opens (db_engine.h), dispatches to it, and does what is the
 * same for both: stepping to the end, rows as JSON, errors, migrations. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_engine.h"
#include "log.h"
#include "util.h"

struct db *
db_open(const struct db_config *c, enum db_mode mode)
{
	const struct db_engine	*e = db_shared(c) ? &db_pg : &db_sqlite;

	return e->open(c, mode);
}

void
db_close(struct db *db)
{
	if (db != NULL)
		db->engine->close(db);
}

int
db_shared(const struct db_config *c)
{
	return c->url != NULL && *c->url != '\0';
}

void
db_base_init(struct db *db, const struct db_engine *e,
    const struct db_config *c)
{
	db->engine = e;
	db->schema = c->schema;
	db->version = c->schema->version;
	db->nstmts = STMT_CORE__MAX + (int)c->schema->nstmts;
	db->error = DB_DONE;
}

const struct stmt_def *
db_stmt_def(const struct db *db, int id)
{
	return id < STMT_CORE__MAX ? &core_stmts[id] :
	    &db->schema->stmts[id - STMT_CORE__MAX];
}

struct stmt *
db_stmt(struct db *db, int id)
{
	struct stmt	*s = db->engine->stmt(db, id);

	s->ran = 0;
	return s;
}

void
stmt_int(struct stmt *s, int i, int64_t v)
{
	s->db->engine->bind_int(s, i, v);
}

void
stmt_text(struct stmt *s, int i, const char *v)
{
	s->db->engine->bind_text(s, i, v);
}

void
stmt_blob(struct stmt *s, int i, const void *v, size_t n)
{
	s->db->engine->bind_blob(s, i, v, n);
}

enum db_rc
stmt_step(struct stmt *s)
{
	if (s->ran) {		/* by stmt_send: its first step */
		s->ran = 0;
		/* Its error is the last one now (db_take_error), whatever
		 * the statements run since met because of it. */
		if (s->first != DB_ROW && s->first != DB_DONE)
			s->db->error = s->first;
		return s->first;
	}
	return s->db->engine->step(s);
}

void
stmt_reset(struct stmt *s)
{
	s->ran = 0;
	s->db->engine->reset(s);
}

enum db_rc
stmt_exec(struct stmt *s)
{
	enum db_rc	 rc;

	while ((rc = stmt_step(s)) == DB_ROW)
		continue;
	stmt_reset(s);
	return rc;
}

enum db_rc
stmt_exec_later(struct stmt *s)
{
	const struct db_engine	*e = s->db->engine;

	if (e->defer != NULL && e->defer(s->db, s) == 0) {
		stmt_reset(s);
		return DB_DONE;
	}
	return stmt_exec(s);
}

void
stmt_send(struct stmt *s)
{
	const struct db_engine	*e = s->db->engine;

	if (e->send != NULL && e->send(s->db, s) == 0)
		return;
	s->first = e->step(s);
	s->ran = 1;
}

int64_t
col_int(struct stmt *s, int i)
{
	return s->db->engine->col_int(s, i);
}

const char *
col_text(struct stmt *s, int i)
{
	return s->db->engine->col_text(s, i);
}

const void *
col_blob(struct stmt *s, int i, size_t *len)
{
	return s->db->engine->col_blob(s, i, len);
}

int64_t
db_changes(struct db *db)
{
	return db->engine->changes(db);
}

struct json_object *
stmt_json_row(struct stmt *s)
{
	const struct db_engine	*e = s->db->engine;
	struct json_object	*o = json_object_new_object(), *v;
	int			 i, n = e->col_count(s);

	for (i = 0; i < n; i++) {
		switch (e->col_kind(s, i)) {
		case COL_NULL:
			continue;
		case COL_INT:
			v = json_object_new_int64(e->col_int(s, i));
			break;
		default:
			v = json_object_new_string(e->col_text(s, i));
		}
		/* json_object_object_add steals the reference to v. */
		json_object_object_add(o, e->col_name(s, i), v);
	}
	return o;
}

struct json_object *
stmt_json_rows(struct stmt *s)
{
	struct json_object	*list = json_object_new_array();
	enum db_rc		 rc;

	while ((rc = stmt_step(s)) == DB_ROW)
		json_object_array_add(list, stmt_json_row(s));
	stmt_reset(s);
	if (rc != DB_DONE) {
		json_object_put(list);
		return NULL;
	}
	return list;
}

enum db_rc
db_tx(struct db *db, enum stmt_id id)
{
	enum db_rc	 rc = db->engine->tx(db, id);

	switch (id) {
	case STMT_BEGIN:
	case STMT_BEGIN_IMMEDIATE:
		db->in_tx = rc == DB_DONE;
		db->writing = id == STMT_BEGIN_IMMEDIATE;
		break;
	case STMT_COMMIT:
	case STMT_ROLLBACK:
		db->in_tx = 0;	/* the engine left none open, failed or not */
		break;
	default:
		break;
	}
	return rc;
}

enum db_rc
db_take_error(struct db *db)
{
	enum db_rc	 rc = db->error;

	db->error = DB_DONE;
	return rc;
}

int
db_writing(const struct db *db)
{
	return db->in_tx && db->writing;
}

int
db_tx_lost(struct db *db)
{
	return db->engine->tx_lost(db);
}

int
db_gone(struct db *db)
{
	return db->engine->gone(db);
}

/* Keeps "NNN-name.sql" files only. */
static int
is_migration(const struct dirent *d)
{
	size_t	 n = strlen(d->d_name);

	return n > 8 && d->d_name[0] >= '0' && d->d_name[0] <= '9' &&
	    strcmp(d->d_name + n - 4, ".sql") == 0;
}

/* Reads a whole file into a NUL-terminated string. NULL on error. */
static char *
read_file(const char *path)
{
	struct buf	 b = { 0 };
	char		 chunk[8192];
	size_t		 n;
	FILE		*f;

	if ((f = fopen(path, "r")) == NULL) {
		log_error("%s: %s", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	if (ferror(f)) {	/* not the whole file: nothing of it */
		log_error("%s: %s", path, strerror(errno));
		fclose(f);
		buf_free(&b);
		return NULL;
	}
	buf_append(&b, "", 0);
	fclose(f);
	return b.data;
}

/* Reads the migration path, each line "\ir FILE" (psql's include, FILE
 * relative to path's folder) replaced by FILE in the engine's dialect: how
 * the tables both engines have (schema/common) are written once. NULL on
 * error. */
static char *
read_migration(struct db *db, const char *path)
{
	struct buf	 b = { 0 };
	char		*sql, *inc, *mapped, file[4096 + 256];
	const char	*line, *next, *slash = strrchr(path, '/');
	int		 dirlen = slash != NULL ? (int)(slash - path) : 1;
	size_t		 namelen;

	if ((sql = read_file(path)) == NULL)
		return NULL;
	for (line = sql; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		next += *next == '\n';
		if (strncmp(line, "\\ir ", 4) != 0) {
			buf_append(&b, line, (size_t)(next - line));
			continue;
		}
		namelen = strcspn(line + 4, " \t\r\n");
		snprintf(file, sizeof(file), "%.*s/%.*s", dirlen,
		    slash != NULL ? path : ".", (int)namelen, line + 4);
		if ((inc = read_file(file)) == NULL) {
			buf_free(&b);
			free(sql);
			return NULL;
		}
		mapped = db->engine->dialect != NULL ?
		    db->engine->dialect(inc) : NULL;
		buf_puts(&b, mapped != NULL ? mapped : inc);
		free(mapped);
		free(inc);
	}
	buf_append(&b, "", 0);
	free(sql);
	return b.data;
}

/* Applies the file path with version (0: not a migration). */
static int
apply_file(struct db *db, const char *path, int version)
{
	char	*sql;
	int	 rc;

	if ((sql = read_migration(db, path)) == NULL)
		return -1;
	rc = db->engine->apply(db, sql, version);
	free(sql);
	if (rc != 0)
		log_error("%s: not applied", path);
	return rc;
}

void
db_log_version(const struct db *db, const char *where, int stored)
{
	if (stored > db->version)
		log_error("%s: schema version %d, newer than the %d this build "
		    "of %s knows: a newer build made it", where, stored,
		    db->version, db->schema->name);
	else if (stored == db->version - 1)
		log_error("%s: schema version %d, this build of %s needs %d: "
		    "run init, which applies migration %03d", where, stored,
		    db->schema->name, db->version, db->version);
	else
		log_error("%s: schema version %d, this build of %s needs %d: "
		    "run init, which applies migrations %03d to %03d", where,
		    stored, db->schema->name, db->version, stored + 1,
		    db->version);
}

int
db_migrate(struct db *db, const char *schema_dir, int demo)
{
	struct dirent	**names;
	char		 dir[4096], path[4096 + 256];
	int		 i, n, version, current, rc = 0;

	snprintf(dir, sizeof(dir), "%s%s%s", schema_dir,
	    *db->engine->subdir ? "/" : "", db->engine->subdir);
	if ((current = db->engine->stored_version(db)) == -1)
		return -1;
	if (current > db->version) {
		log_error("schema version %d is newer than this build's %d",
		    current, db->version);
		return -1;
	}
	if ((n = scandir(dir, &names, is_migration, alphasort)) == -1) {
		log_error("%s: %s", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		version = atoi(names[i]->d_name);
		if (rc == 0 && version > current) {
			snprintf(path, sizeof(path), "%s/%s", dir,
			    names[i]->d_name);
			if ((rc = apply_file(db, path, version)) == 0) {
				printf("applied %s\n", names[i]->d_name);
				current = version;
			}
		}
		free(names[i]);
	}
	free(names);
	if (rc == 0 && current < db->version) {
		log_error("%s: its migrations reach schema version %d, but this "
		    "build of %s needs %d: migration %03d-*.sql is missing", dir,
		    current, db->schema->name, db->version, current + 1);
		rc = -1;
	}
	if (rc == 0 && demo) {
		/* One file for both engines. */
		snprintf(path, sizeof(path), "%s/demo.sql", schema_dir);
		rc = apply_file(db, path, 0);
	}
	return rc;
}
