// tests/openapi/check.js — checks www/openapi.json against what the server
// is, with nothing but node's standard library (tests/openapi.t runs it):
//
//   node check.js registry DOC PROBLEMS ERRORS_DIR APP_C...
//       PROBLEMS: `onceshop problems` (name TAB status TAB title per line);
//       ERRORS_DIR: www/errors, lighttpd's own problem bodies; APP_C: the C
//       sources (app/*/*.c), read for the route tables and field tables.
//   node check.js live DOC ANSWERS
//       ANSWERS: one JSON object per line, {method, path, status, headers,
//       body}, as tests/openapi.t recorded them from a live server.
//
// Prints one line per check: "ok<TAB>what", or "not ok<TAB>what<TAB>why"
// (more TABs: more lines of why). Exits 0 whatever it found.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [mode, docFile, ...args] = process.argv.slice(2);
const doc = JSON.parse(fs.readFileSync(docFile, 'utf8'));

function report(ok, what, why = []) {
	const line = (s) => String(s).replace(/[\t\r\n]+/g, ' ');
	console.log(ok ? `ok\t${line(what)}` : ['not ok', what, ...why].map(line).join('\t'));
}

// ---- the document ----------------------------------------------------------

// Returns the object a local $ref points at.
function deref(o) {
	while (o && o.$ref) {
		if (!o.$ref.startsWith('#/'))
			throw new Error(`unsupported $ref ${o.$ref}`);
		o = o.$ref.slice(2).split('/').reduce((n, k) =>
		    n[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
	}
	return o;
}

const METHODS = ['get', 'head', 'post', 'options'];

// Every operation: [path, method, operation].
function operations() {
	const out = [];
	for (const [p, item] of Object.entries(doc.paths))
		for (const m of METHODS)
			if (item[m])
				out.push([p, m, item[m]]);
	return out;
}

// The problem types the document defines: name -> {title, statuses, schema}.
function problemSchemas() {
	const out = new Map();
	for (const [name, s] of Object.entries(doc.components.schemas)) {
		const t = s.properties && s.properties.type && s.properties.type.const;
		if (typeof t !== 'string' || !t.startsWith('/problems/'))
			continue;
		const st = s.properties.status || {};
		out.set(t.slice('/problems/'.length), {
			schema: name,
			title: s.properties.title && s.properties.title.const,
			statuses: st.enum || (st.const !== undefined ? [st.const] : []),
		});
	}
	return out;
}

// The problem schemas a media type's schema allows (a $ref or a oneOf).
function problemRefs(schema) {
	const list = schema.oneOf ? schema.oneOf : [schema];
	return list.map((s) => (s.$ref || '').split('/').pop());
}

// ---- a JSON Schema validator for the keywords the document uses -----------

function typeOf(v) {
	if (v === null) return 'null';
	if (Array.isArray(v)) return 'array';
	if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
	return typeof v;
}

// Returns a list of errors ("at: what"), empty when v matches schema s.
function validate(v, s, at = '$') {
	const errs = [];
	s = deref(s);
	if (s === true || s === undefined) return errs;
	if (s === false) return [`${at}: not allowed`];
	if (s.type !== undefined) {
		const types = [].concat(s.type), t = typeOf(v);
		if (!types.includes(t) && !(t === 'integer' && types.includes('number')))
			return [`${at}: ${JSON.stringify(v)} is not ${types.join(' or ')}`];
	}
	if ('const' in s && JSON.stringify(v) !== JSON.stringify(s.const))
		errs.push(`${at}: ${JSON.stringify(v)} is not ${JSON.stringify(s.const)}`);
	if (s.enum && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v)))
		errs.push(`${at}: ${JSON.stringify(v)} is not one of ${JSON.stringify(s.enum)}`);
	if (typeof v === 'number') {
		if (s.minimum !== undefined && v < s.minimum) errs.push(`${at}: ${v} < ${s.minimum}`);
		if (s.maximum !== undefined && v > s.maximum) errs.push(`${at}: ${v} > ${s.maximum}`);
	}
	if (typeof v === 'string') {
		const n = [...v].length;
		if (s.minLength !== undefined && n < s.minLength) errs.push(`${at}: shorter than ${s.minLength}`);
		if (s.maxLength !== undefined && n > s.maxLength) errs.push(`${at}: longer than ${s.maxLength}`);
		if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(v))
			errs.push(`${at}: ${JSON.stringify(v)} does not match ${s.pattern}`);
	}
	if (Array.isArray(v)) {
		if (s.minItems !== undefined && v.length < s.minItems) errs.push(`${at}: fewer than ${s.minItems} items`);
		if (s.maxItems !== undefined && v.length > s.maxItems) errs.push(`${at}: more than ${s.maxItems} items`);
		if (s.items) v.forEach((x, i) => errs.push(...validate(x, s.items, `${at}[${i}]`)));
	}
	if (typeOf(v) === 'object') {
		for (const r of s.required || [])
			if (!(r in v)) errs.push(`${at}: no member "${r}"`);
		const props = s.properties || {};
		for (const [k, x] of Object.entries(v)) {
			if (k in props)
				errs.push(...validate(x, props[k], `${at}.${k}`));
			else if (s.additionalProperties !== undefined)
				errs.push(...validate(x, s.additionalProperties, `${at}.${k}`));
		}
	}
	for (const sub of s.allOf || [])
		errs.push(...validate(v, sub, at));
	if (s.anyOf && !s.anyOf.some((sub) => validate(v, sub, at).length === 0))
		errs.push(`${at}: matches none of anyOf`);
	if (s.oneOf) {
		const results = s.oneOf.map((sub) => validate(v, sub, at));
		const n = results.filter((r) => r.length === 0).length;
		if (n !== 1)
			errs.push(`${at}: matches ${n} of oneOf, not 1` + (n === 0 ?
			    ` (closest: ${results.sort((a, b) => a.length - b.length)[0].join('; ')})` : ''));
	}
	if (s.not && validate(v, s.not, at).length === 0)
		errs.push(`${at}: matches "not"`);
	return errs;
}

// ---- registry: the document against the code --------------------------------

function checkRegistry(problemsFile, errorsDir, sourceFiles) {
	const documented = problemSchemas();
	const known = new Map();	// name -> [{status, title, from}]
	const note = (name, status, title, from) => {
		if (!known.has(name)) known.set(name, []);
		known.get(name).push({ status, title, from });
	};
	for (const line of fs.readFileSync(problemsFile, 'utf8').split('\n')) {
		if (line === '') continue;
		const [name, status, title] = line.split('\t');
		note(name, Number(status), title, 'the registry (onceshop problems)');
	}
	for (const f of fs.readdirSync(errorsDir).filter((f) => /^problem-\d+\.html$/.test(f)).sort()) {
		const p = JSON.parse(fs.readFileSync(path.join(errorsDir, f), 'utf8'));
		note(p.type.replace('/problems/', ''), p.status, p.title, `lighttpd's ${f}`);
	}

	// Every problem type the server has is documented, exact title and status.
	for (const [name, defs] of known)
		for (const d of defs) {
			const s = documented.get(name);
			const why = !s ? ['not in components.schemas'] : [
				...(s.title === d.title ? [] : [`title ${JSON.stringify(s.title)}, expected ${JSON.stringify(d.title)}`]),
				...(s.statuses.includes(d.status) ? [] : [`status ${s.statuses}, expected ${d.status}`]),
			];
			report(why.length === 0, `${name} (${d.status}, from ${d.from}) is documented with its title and status`, why);
		}
	// ... and the document invents none.
	const invented = [...documented.keys()].filter((n) => !known.has(n));
	report(invented.length === 0, 'every documented problem type is one the server has',
	    invented.map((n) => `${n} is neither in the registry nor in www/errors`));
	// A type documented with several statuses (payment-provider-unavailable)
	// must have each from the server, or say why in its description.
	const anyOneOf = doc.components.schemas.AnyProblem.oneOf.map((r) => r.$ref.split('/').pop());
	const missing = [...documented.values()].map((s) => s.schema).filter((n) => !anyOneOf.includes(n));
	report(missing.length === 0, 'AnyProblem (every default response) lists every problem type', missing);

	// Every response: a problem is answered only with its own status; a
	// success status only for its method.
	const SUCCESS = { get: ['200'], head: ['200'], post: ['201'], options: ['204'] };
	for (const [p, m, o] of operations()) {
		const why = [];
		for (const [status, r0] of Object.entries(o.responses)) {
			const r = deref(r0);
			if (status === 'default')
				continue;
			if (status < '400') {
				if (!SUCCESS[m].includes(status))
					why.push(`${status} is not a status ${m.toUpperCase()} succeeds with`);
				continue;
			}
			if (!r.content) {	/* HEAD: the GET's problem, no body */
				if (m !== 'head') why.push(`${status} has no content`);
				continue;
			}
			const media = r.content['application/problem+json'];
			if (!media) {
				why.push(`${status} is not application/problem+json`);
				continue;
			}
			for (const name of problemRefs(media.schema)) {
				const s = [...documented.values()].find((x) => x.schema === name);
				if (!s) why.push(`${status}: ${name} is not a problem type`);
				else if (!s.statuses.includes(Number(status)))
					why.push(`${status}: ${name} is answered with ${s.statuses}`);
			}
		}
		report(why.length === 0, `${m.toUpperCase()} ${p}: every documented status goes with its problem types`, why);
	}

	// The routes: every route of the C tables is documented (GET with HEAD,
	// every path with OPTIONS), and every documented API path is a route.
	const routes = new Map();	// path -> Set of methods
	for (const f of sourceFiles) {
		// { METHOD_GET, "/path", ... } or { .method = METHOD_GET, .path = "/path", ... }
		const re = /\{\s*(?:\.method\s*=\s*)?METHOD_([A-Z]+),\s*(?:\.path\s*=\s*)?"([^"]+)"/g;
		for (const [, m, p] of fs.readFileSync(f, 'utf8').matchAll(re)) {
			if (!routes.has(p)) routes.set(p, new Set(['options']));
			routes.get(p).add(m.toLowerCase());
			if (m === 'GET') routes.get(p).add('head');
		}
	}
	report(routes.size > 0, 'the route tables were read');
	for (const [p, ms] of routes) {
		const item = doc.paths[p] || {};
		const want = [...ms].sort().join(' '), got = METHODS.filter((m) => item[m]).sort().join(' ');
		report(want === got, `route ${p}: documented methods are ${want}`, [`documented: ${got || 'none'}`]);
	}
	const STATIC = ['/openapi.json', '/problems/{name}'];
	const extra = Object.keys(doc.paths).filter((p) => !routes.has(p) && !STATIC.includes(p));
	report(extra.length === 0, 'every documented path is a route (or a static file lighttpd serves)', extra);

	checkBodies(sourceFiles.map((f) => fs.readFileSync(f, 'utf8')).join('\n'));
}

// Every POST's request body schema says what the route's field table
// (F_INT, F_STRING, F_STRING_OR, F_ARRAY in app/*/*.c) accepts: the same
// members, required unless they have a default, the same limits, nothing
// else.
function checkBodies(src) {
	const tables = new Map();	// field array name -> [{kind, name, args}]
	const tre = /static const struct field (\w+)\[\] = \{([\s\S]*?)F_END/g;
	for (const [, name, body] of src.matchAll(tre))
		tables.set(name, [...body.matchAll(/F_(INT|STRING_OR|STRING|ARRAY)\(([^)]*)\)/g)]
		    .map(([, kind, args]) => ({ kind, args: args.split(',').map((x) => x.trim()) })));
	const defines = new Map([...src.matchAll(/#define\s+(\w+)\s+(\d+)\b/g)].map(([, k, v]) => [k, Number(v)]));
	const num = (x) => (defines.has(x) ? defines.get(x) : Number(x));
	const bodies = new Map();	// body_type name -> field array name
	for (const [, name, fields] of src.matchAll(/const struct body_type (\w+) = \{\s*(\w+)/g))
		bodies.set(name, fields);

	// Returns what differs between field table t and object schema s.
	function compare(t, s, at) {
		const why = [];
		s = deref(s);
		const fields = tables.get(t);
		if (!fields) return [`${at}: no field table ${t}`];
		if (s.additionalProperties !== false) why.push(`${at}: additionalProperties is not false`);
		const names = fields.map((f) => f.args[1]);
		const props = Object.keys(s.properties || {});
		for (const n of props.filter((x) => !names.includes(x))) why.push(`${at}.${n}: not in ${t}`);
		for (const f of fields) {
			const [, n, ...rest] = f.args, p = deref((s.properties || {})[n]), where = `${at}.${n}`;
			if (!p) { why.push(`${where}: not documented`); continue; }
			const required = (s.required || []).includes(n);
			if (required !== (f.kind !== 'STRING_OR'))
				why.push(`${where}: ${required ? 'required, but has a default' : 'not required'}`);
			const want = (k, v) => { if (p[k] !== v) why.push(`${where}: ${k} ${p[k]}, the code says ${v}`); };
			if (f.kind === 'INT') {
				want('type', 'integer'); want('minimum', num(rest[0])); want('maximum', num(rest[1]));
			} else if (f.kind === 'STRING' || f.kind === 'STRING_OR') {
				want('type', 'string'); want('minLength', num(rest[0])); want('maxLength', num(rest[1]));
				if (f.kind === 'STRING_OR') want('default', JSON.parse(rest[2]));
			} else {	/* ARRAY(T, m, count, lo, hi, items, unique) */
				want('type', 'array'); want('minItems', num(rest[1])); want('maxItems', num(rest[2]));
				why.push(...compare(rest[3], p.items, `${where}[]`));
			}
		}
		return why;
	}

	const rre = /\{\s*\.method\s*=\s*METHOD_POST,\s*\.path\s*=\s*"([^"]+)"[^}]*?\.body\s*=\s*&(\w+)/g;
	let n = 0;
	for (const [, p, body] of src.matchAll(rre)) {
		n++;
		const rb = doc.paths[p] && doc.paths[p].post && doc.paths[p].post.requestBody;
		const schema = rb && rb.content['application/json'] && rb.content['application/json'].schema;
		const why = schema ? compare(bodies.get(body), schema, 'body') : ['no application/json request body'];
		report(why.length === 0, `POST ${p}: the body schema is ${body}'s field table`, why);
	}
	report(n > 0, 'the POST routes and their field tables were read');
}

// ---- live: answers of a real server against the document --------------------

// Returns [template, path item] for a request path: literal paths before
// templated ones (/payments/confirm before /payments/{id}).
function findPath(p) {
	const cands = Object.keys(doc.paths).filter((t) => new RegExp(
	    '^' + t.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+') + '$').test(p));
	cands.sort((a, b) => (a.match(/\{/g) || []).length - (b.match(/\{/g) || []).length);
	return cands.length ? [cands[0], doc.paths[cands[0]]] : [null, null];
}

// The statuses a default response stands for on a documented operation
// (see components.responses.AnyProblem): everything else must be listed.
const DEFAULT_STATUSES = [400, 405, 411, 431, 500, 501, 502, 503, 504, 505];
const CHECKED_HEADERS = ['location', 'retry-after', 'idempotent-replayed', 'allow', 'www-authenticate'];

function checkAnswer(a) {
	const why = [];
	const method = a.method.toLowerCase();
	const [tmpl, item] = findPath(a.path);
	const o = item && item[method];
	const what = `${a.method} ${a.path}${a.note ? ` (${a.note})` : ''}: ${a.status} ` +
	    (o ? `is documented for ${a.method} ${tmpl}` : 'is a documented refusal');
	let r0 = o ? o.responses[String(a.status)] : undefined;
	if (!r0) {
		r0 = o ? o.responses.default : doc.components.responses.AnyProblem;
		if (!r0) return report(false, what, ['no response for this status and no default']);
		if (o && !DEFAULT_STATUSES.includes(a.status))
			why.push(`only "default" covers ${a.status}`);
	}
	const r = deref(r0);
	const docHeaders = Object.fromEntries(Object.entries(r.headers || {}).map(([k, v]) => [k.toLowerCase(), deref(v)]));
	for (const [name, h] of Object.entries(docHeaders)) {
		const v = a.headers[name];
		if (v === undefined) {
			if (h.required) why.push(`no ${name} header`);
			continue;
		}
		why.push(...validate(v, h.schema, name));
	}
	for (const name of CHECKED_HEADERS)
		if (a.headers[name] !== undefined && !docHeaders[name])
			why.push(`${name}: ${a.headers[name]} is not documented for this response`);

	const noBody = a.method === 'HEAD' || a.status === 204;
	if (noBody || !r.content) {
		if (a.body !== '') why.push(`a body: ${a.body.slice(0, 80)}`);
		if (!noBody && !r.content) why.push('a body is sent, none is documented');
	} else {
		const type = (a.headers['content-type'] || '').split(';')[0].trim();
		const media = r.content[type];
		if (!media) why.push(`Content-Type ${type || 'none'}, documented: ${Object.keys(r.content)}`);
		else if (type.endsWith('json')) {
			let body;
			try { body = JSON.parse(a.body); } catch (e) { why.push(`not JSON: ${e.message}`); }
			if (body !== undefined) why.push(...validate(body, media.schema, 'body'));
		}
	}
	report(why.length === 0, what, why);
}

if (mode === 'registry') {
	checkRegistry(args[0], args[1], args.slice(2));
} else if (mode === 'live') {
	for (const line of fs.readFileSync(args[0], 'utf8').split('\n'))
		if (line !== '')
			checkAnswer(JSON.parse(line));
} else {
	console.error('usage: check.js registry|live DOC ...');
	process.exit(2);
}
