/* db_engine.h — what an engine behind db.h provides (private to db.c and
 * the engines: db_sqlite.c, db_pg*.c). Each engine's connection and
 * statement begin with struct db and struct stmt; db.c dispatches through
 * the engine's table and does what is the same for both. */
#ifndef ONCESHOP_DB_ENGINE_H
#define ONCESHOP_DB_ENGINE_H

#include "db.h"

struct db {
	const struct db_engine	*engine;
	const struct db_schema	*schema;
	int			 version;	/* the schema version this
						 * build knows */
	int			 nstmts;	/* the core's and schema's */
	int			 in_tx;		/* a transaction was begun */
	int			 writing;	/* it is a write transaction */
	enum db_rc		 error;		/* the last failure, for
						 * db_take_error */
};

struct stmt {
	struct db		*db;
	int			 ran;	/* stmt_send ran it at once, */
	enum db_rc		 first;	/* and its first step gave this */
};

enum col_kind {
	COL_NULL,
	COL_INT,
	COL_TEXT,	/* and anything else, as text */
};

struct db_engine {
	const char	*subdir;	/* of schema/: its migrations ("": the
					 * directory itself) */
	/* The connection, configured, with c->schema's statements
	 * prepared unless mode is DB_MIGRATE (db->version set by db.c). */
	struct db	*(*open)(const struct db_config *c, enum db_mode mode);
	void		 (*close)(struct db *);
	/* The stored schema version (0 for an empty database), or -1. */
	int		 (*stored_version)(struct db *);
	/* Runs sql in one transaction and records version (unless 0). */
	int		 (*apply)(struct db *, const char *sql, int version);
	/* A schema file shared by both engines (schema/common, written in
	 * SQLite's type names) in this engine's: a new string. NULL: as
	 * it is. */
	char		*(*dialect)(const char *sql);
	struct stmt	*(*stmt)(struct db *, int id);
	void		 (*bind_int)(struct stmt *, int, int64_t);
	void		 (*bind_text)(struct stmt *, int, const char *);
	void		 (*bind_blob)(struct stmt *, int, const void *, size_t);
	enum db_rc	 (*step)(struct stmt *);
	void		 (*reset)(struct stmt *);
	int64_t		 (*col_int)(struct stmt *, int);
	const char	*(*col_text)(struct stmt *, int);
	const void	*(*col_blob)(struct stmt *, int, size_t *);
	int		 (*col_count)(struct stmt *);
	const char	*(*col_name)(struct stmt *, int);
	enum col_kind	 (*col_kind)(struct stmt *, int);
	int64_t		 (*changes)(struct db *);
	/* Optional: defers a write to the next statement's round trip
	 * (stmt_exec_later). Returns 0, or -1 to run it now. */
	int		 (*defer)(struct db *, struct stmt *);
	/* Optional: as defer, with the result kept for the statement's
	 * next step (stmt_send). Returns 0, or -1 to run it now. */
	int		 (*send)(struct db *, struct stmt *);
	enum db_rc	 (*tx)(struct db *, enum stmt_id);
	int		 (*tx_lost)(struct db *);
	int		 (*gone)(struct db *);
};

/* Sets the fields of struct db that are the same for every engine. */
void	 db_base_init(struct db *, const struct db_engine *,
	     const struct db_config *);

/* Logs why a database at schema version stored cannot serve this build:
 * which migrations init would apply, or that a newer build made it. */
void	 db_log_version(const struct db *, const char *where, int stored);

/* The text of statement id (0 to db->nstmts - 1). */
const struct stmt_def *db_stmt_def(const struct db *, int id);

extern const struct db_engine	 db_sqlite;
extern const struct db_engine	 db_pg;

#endif
