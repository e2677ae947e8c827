/**
 * What every peer app shares with bench/app.ts: port, database path, the
 * /login payload, and the `/inc` counter written at SIGTERM to BENCH_STATS
 * (so bench/http.sh can check that the stored counts add up).
 */
import { appendFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

export const port = Number(process.env.PORT ?? 3000);
export const SECRET = "satchel-bench-secret-satchel-bench-secret-0123456789";
export const PROFILE = "x".repeat(400);

/** The SQLite file of a peer: SATCHEL_DB, or a fresh one in the temp dir. */
export function dbPath(name) {
  const path = process.env.SATCHEL_DB ??
    join(tmpdir(), `satchel-bench-${name}.sqlite`);
  if (process.env.SATCHEL_DB === undefined) {
    for (const suffix of ["", "-wal", "-shm"]) {
      rmSync(path + suffix, { force: true });
    }
  }
  return path;
}

export function newUser() {
  return "u" + Math.random().toString(36).slice(2);
}

/** Counts /inc answers with status 200; `onStop` closes the server. */
export const stats = { incOk: 0 };

export function handleStop(onStop) {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await onStop?.();
    if (process.env.BENCH_STATS !== undefined) {
      appendFileSync(process.env.BENCH_STATS, `${stats.incOk}\n`);
    }
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

/**
 * An express app with express-session over `store` serving the benchmark
 * routes (counting /inc answers for the lost-update check), listening on
 * `port`; `close` releases the store's own resources at SIGTERM.
 */
export function expressPeer(express, expressSession, store, close) {
  const app = express();
  app.set("etag", false);
  app.set("x-powered-by", false);
  app.use("/inc", (_req, res, next) => {
    res.on("finish", () => {
      if (res.statusCode === 200) stats.incOk++;
    });
    next();
  });
  app.use(expressSession({
    store,
    secret: SECRET,
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: "lax", maxAge: 3600_000 },
  }));
  app.get("/login", (req, res, next) => {
    req.session.regenerate((err) => {
      if (err) return next(err);
      req.session.user = newUser();
      req.session.count = 0;
      req.session.profile = PROFILE;
      res.type("text").send("ok");
    });
  });
  app.get("/inc", (req, res) => {
    req.session.count = (req.session.count ?? 0) + 1;
    res.type("text").send(String(req.session.count));
  });
  app.get("/read", (req, res) => res.type("text").send(String(req.session.count ?? 0)));
  app.get("/plain", (_req, res) => res.type("text").send("plain"));
  app.get("/new", (req, res) => {
    req.session.seen = 1;
    res.type("text").send("new");
  });
  app.get("/logout", (req, res, next) => {
    req.session.destroy((err) => (err ? next(err) : res.type("text").send("bye")));
  });
  const server = app.listen(port, "127.0.0.1", () => console.log(`listening on ${port}`));
  handleStop(() =>
    new Promise((resolve) => {
      server.close(() => resolve(close()));
      server.closeAllConnections();
    })
  );
}
