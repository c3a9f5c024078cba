/*-------------------------------------------------------------------------
 *
 * query.c
 *	  Validating, deparsing and recording the dependencies of a defining
 *	  query.
 *
 * A defining query is analysed once, under the caller's search_path, when
 * the stream table is created.  What is stored and later run is its deparsed
 * form, produced under search_path = pg_catalog so that every user object is
 * schema-qualified: refreshes then run under a fixed search_path and cannot
 * be redirected by objects created later in some schema.
 *
 * Validation rejects what cannot be a stream table whatever the refresh
 * mode: anything but one SELECT, data-modifying WITH, temporary relations,
 * system columns, and output columns that a table cannot have.  The checks
 * walk the rewritten query, so views' bodies are checked too.  Volatile
 * functions, TABLESAMPLE and row-locking clauses are left to the
 * differential analysis (src/ivm/analyze.c): a FULL refresh runs them as
 * written, a differential one cannot, and 'auto' falls back to FULL.
 * trickle_query_locate finds such a clause in the query's text, so that
 * the refusal can point at it.
 *
 * Dependencies are recorded from the stream table's relation to every object
 * the query uses, columns included, as for a view: dropping a source, or a
 * column the query reads, needs CASCADE, which drops the stream table too.
 * Core's ALTER COLUMN TYPE does not expect a relation to depend on another
 * relation's column, so the guard refuses that case first with a clear error
 * (src/fdw/guard.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/heap.h"
#include "catalog/indexing.h"
#include "catalog/pg_class.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "parser/scanner.h"
#include "rewrite/rewriteHandler.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"

#include "api/api.h"
#include "errors.h"
#include "fdw/fdw.h"
#include "trickle.h"

typedef struct CheckContext
{
	bool		collect;		/* collecting sources, not checking */
	List	   *sources;
} CheckContext;

/*
 * query_error_callback: report positions inside the defining query as
 * positions in an internal query, not in the statement that called us.
 */
static void
query_error_callback(void *arg)
{
	int			pos = geterrposition();

	if (pos > 0)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery((const char *) arg);
	}
}

static bool
check_walker(Node *node, CheckContext *ctx)
{
	if (node == NULL)
		return false;

	if (IsA(node, Query))
	{
		Query	   *query = (Query *) node;
		ListCell   *lc;

		if (!ctx->collect && query->hasModifyingCTE)
			ereport(ERROR,
					(errcode(TRICKLE_ERRCODE_UNSUPPORTED),
					 errmsg("the defining query cannot contain data-modifying statements in WITH"),
					 errdetail("A stream table's query only reads."),
					 errhint("Remove the INSERT, UPDATE or DELETE from the WITH clause.")));
		foreach(lc, query->rtable)
		{
			RangeTblEntry *rte = lfirst(lc);

			if (rte->rtekind != RTE_RELATION)
				continue;
			if (ctx->collect)
				ctx->sources = list_append_unique_oid(ctx->sources, rte->relid);
			else if (get_rel_persistence(rte->relid) == RELPERSISTENCE_TEMP)
				ereport(ERROR,
						(errcode(TRICKLE_ERRCODE_UNSUPPORTED),
						 errmsg("stream tables cannot read temporary relation \"%s\"",
								get_rel_name(rte->relid)),
						 errdetail("A temporary relation disappears with the session that created it."),
						 errhint("Read from a permanent or unlogged table instead.")));
		}
		return query_tree_walker(query, check_walker, ctx, 0);
	}

	if (!ctx->collect)
	{
		if (IsA(node, Var) && ((Var *) node)->varattno < 0)
			ereport(ERROR,
					(errcode(TRICKLE_ERRCODE_UNSUPPORTED),
					 errmsg("the defining query cannot read system column \"%s\"",
							NameStr(SystemAttributeDefinition(((Var *) node)->varattno)->attname)),
					 errdetail("System columns change when a row is rewritten, not when its contents change."),
					 errhint("Read only user columns.")));
	}
	return expression_tree_walker(node, check_walker, ctx);
}

static List *
output_columns(Query *query)
{
	List	   *columns = NIL;
	ListCell   *lc;
	ListCell   *lc2;

	foreach(lc, query->targetList)
	{
		TargetEntry *tle = lfirst(lc);
		TrickleColumn *col;

		if (tle->resjunk)
			continue;
		col = palloc0(sizeof(TrickleColumn));
		col->name = pstrdup(tle->resname ? tle->resname : "?column?");
		col->type = exprType((Node *) tle->expr);
		col->typmod = exprTypmod((Node *) tle->expr);
		col->collation = exprCollation((Node *) tle->expr);

		if (strncmp(col->name, TRICKLE_COLUMN_PREFIX, strlen(TRICKLE_COLUMN_PREFIX)) == 0)
			ereport(ERROR,
					(errcode(TRICKLE_ERRCODE_INVALID_DEFINITION),
					 errmsg("column name \"%s\" is reserved", col->name),
					 errdetail("Names starting with \"%s\" are reserved for trickle's own columns.",
							   TRICKLE_COLUMN_PREFIX),
					 errhint("Rename the column with AS.")));
		if (get_typtype(col->type) == TYPTYPE_PSEUDO)
			ereport(ERROR,
					(errcode(TRICKLE_ERRCODE_INVALID_DEFINITION),
					 errmsg("column \"%s\" has pseudo-type %s",
							col->name, format_type_be(col->type)),
					 errdetail("A table column needs a concrete type."),
					 errhint("Cast the expression to a concrete type, for example with ::text.")));
		foreach(lc2, columns)
		{
			if (strcmp(((TrickleColumn *) lfirst(lc2))->name, col->name) == 0)
				ereport(ERROR,
						(errcode(TRICKLE_ERRCODE_INVALID_DEFINITION),
						 errmsg("column \"%s\" appears more than once in the defining query",
								col->name),
						 errdetail("A stream table needs one distinct name per column."),
						 errhint("Give each output column a distinct name with AS.")));
		}
		columns = lappend(columns, col);
	}
	if (columns == NIL)
		ereport(ERROR,
				(errcode(TRICKLE_ERRCODE_INVALID_DEFINITION),
				 errmsg("the defining query has no output columns"),
				 errdetail("A stream table needs at least one column."),
				 errhint("Select at least one column.")));
	return columns;
}

/*
 * trickle_query_deparse: query as SQL text with every object outside
 * pg_catalog schema-qualified.
 */
char *
trickle_query_deparse(Query *query)
{
	int			nestlevel = NewGUCNestLevel();
	char	   *sql;

	(void) set_config_option("search_path", "pg_catalog",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	sql = pg_get_querydef(copyObject(query), false);
	AtEOXact_GUC(true, nestlevel);
	return sql;
}

/*
 * trickle_query_analyze: parse, analyse and validate sql under the current
 * search_path; errors (with the position inside sql) if it cannot define a
 * stream table.
 */
TrickleQuery *
trickle_query_analyze(const char *sql)
{
	ErrorContextCallback errcallback;
	TrickleQuery *tq = palloc0(sizeof(TrickleQuery));
	List	   *raw;
	RawStmt    *rawstmt;
	List	   *rewritten;
	CheckContext ctx = {0};

	errcallback.callback = query_error_callback;
	errcallback.arg = (void *) sql;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	if (list_length(raw) != 1 ||
		!IsA(((RawStmt *) linitial(raw))->stmt, SelectStmt))
		ereport(ERROR,
				(errcode(TRICKLE_ERRCODE_SYNTAX),
				 errmsg("the defining query must be a single SELECT statement"),
				 errdetail("The text given has %d statement(s)%s.", list_length(raw),
						   list_length(raw) == 1 ? ", which is not a SELECT" : ""),
				 errhint("Pass one SELECT (or VALUES, or TABLE) query without a trailing statement.")));
	rawstmt = linitial(raw);
	if (((SelectStmt *) rawstmt->stmt)->intoClause != NULL)
		ereport(ERROR,
				(errcode(TRICKLE_ERRCODE_SYNTAX),
				 errmsg("the defining query cannot use SELECT INTO"),
				 errdetail("trickle creates the stream table itself."),
				 errhint("Remove the INTO clause.")));

	tq->query = parse_analyze_fixedparams(rawstmt, sql, NULL, 0, NULL);
	rewritten = QueryRewrite(copyObject(tq->query));
	if (list_length(rewritten) != 1)
		elog(ERROR, "a SELECT was rewritten into %d queries", list_length(rewritten));

	check_walker((Node *) linitial(rewritten), &ctx);

	tq->columns = output_columns(tq->query);
	ctx.collect = true;
	check_walker((Node *) tq->query, &ctx);
	tq->sources = ctx.sources;

	error_context_stack = errcallback.previous;

	tq->definition = trickle_query_deparse(tq->query);
	return tq;
}

/*
 * trickle_query_locate: the byte offset in sql of the first occurrence of
 * one of sequences (NULL-terminated; each a lower-case keyword sequence such
 * as "for update"), or -1 (also when sql is NULL).  The core scanner reads
 * the text, so keywords inside strings, quoted names and comments do not
 * count.  sql must scan without error (it was parsed already).
 */
int
trickle_query_locate(const char *sql, const char *const *sequences)
{
	core_yy_extra_type extra;
	core_yyscan_t scanner;
	core_YYSTYPE value;
	YYLTYPE		location;
	int		   *tokens;
	int		   *locations;
	int			ntokens = 0;
	int			space = 64;
	int			found = -1;
	int			i;

	if (sql == NULL)
		return -1;
	tokens = palloc(space * sizeof(int));
	locations = palloc(space * sizeof(int));
	scanner = scanner_init(sql, &extra, &ScanKeywords, ScanKeywordTokens);
	for (;;)
	{
		int			token = core_yylex(&value, &location, scanner);

		if (token == 0)
			break;
		if (ntokens == space)
		{
			space *= 2;
			tokens = repalloc(tokens, space * sizeof(int));
			locations = repalloc(locations, space * sizeof(int));
		}
		tokens[ntokens] = token;
		locations[ntokens++] = location;
	}
	scanner_finish(scanner);

	for (i = 0; i < ntokens && found < 0; i++)
	{
		const char *const *seq;

		for (seq = sequences; *seq != NULL && found < 0; seq++)
		{
			char	   *words = pstrdup(*seq);
			char	   *save = NULL;
			char	   *word;
			int			j = i;
			bool		match = true;

			for (word = strtok_r(words, " ", &save); word != NULL && match;
				 word = strtok_r(NULL, " ", &save))
			{
				int			kw = ScanKeywordLookup(word, &ScanKeywords);

				match = kw >= 0 && j < ntokens && tokens[j++] == ScanKeywordTokens[kw];
			}
			if (match)
				found = locations[i];
			pfree(words);
		}
	}
	pfree(tokens);
	pfree(locations);
	return found;
}

/*
 * trickle_query_parse_definition: analyse a stored (schema-qualified)
 * definition, without the checks made when it was created.
 */
Query *
trickle_query_parse_definition(const char *definition)
{
	int			nestlevel = NewGUCNestLevel();
	List	   *raw;
	Query	   *query;

	(void) set_config_option("search_path", TRICKLE_SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	raw = raw_parser(definition, RAW_PARSE_DEFAULT);
	if (list_length(raw) != 1)
		elog(ERROR, "stored definition is not a single statement");
	query = parse_analyze_fixedparams(linitial(raw), definition, NULL, 0, NULL);
	AtEOXact_GUC(true, nestlevel);
	return query;
}

/*
 * trickle_query_record_dependencies: make relid depend on what tq uses (each
 * relation as a whole, the columns it reads, functions, operators, types).
 * Any earlier dependencies of relid on other relations are replaced.
 */
void
trickle_query_record_dependencies(Oid relid, TrickleQuery *tq)
{
	ObjectAddress self;

	ObjectAddressSet(self, RelationRelationId, relid);
	deleteDependencyRecordsForClass(RelationRelationId, relid,
									RelationRelationId, DEPENDENCY_NORMAL);
	recordDependencyOnExpr(&self, (Node *) tq->query, NIL, DEPENDENCY_NORMAL);

	CommandCounterIncrement();
}
