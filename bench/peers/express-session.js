/**
 * Peer: express 5 + express-session + better-sqlite3-session-store on Node,
 * the benchmark app contract's routes.
 * Run: node bench/peers/express-session.js   (Node 24: node_modules/.bin/node)
 */
import Database from "better-sqlite3";
import betterSqliteStore from "better-sqlite3-session-store";
import express from "express";
import expressSession from "express-session";
import { dbPath, expressPeer } from "./common.js";

const db = new Database(dbPath("express-session"));
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
const SqliteStore = betterSqliteStore(expressSession);
const store = new SqliteStore({ client: db, expired: { clear: true, intervalMs: 15 * 60_000 } });
expressPeer(express, expressSession, store, () => db.close());
