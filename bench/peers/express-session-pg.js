/**
 * Peer: express 5 + express-session + connect-pg-simple (its pg Pool of 10)
 * on Node, the benchmark app contract's routes, on the PostgreSQL server of
 * PG_URL (table "session", created by connect-pg-simple).
 * Run: PG_URL=postgres://… node bench/peers/express-session-pg.js   (Node 24: node_modules/.bin/node)
 */
import connectPgSimple from "connect-pg-simple";
import express from "express";
import expressSession from "express-session";
import pg from "pg";
import process from "node:process";
import { expressPeer } from "./common.js";

const pool = new pg.Pool({ connectionString: process.env.PG_URL, max: Number(process.env.PG_POOL ?? 10) });
const PgStore = connectPgSimple(expressSession);
const store = new PgStore({ pool, createTableIfMissing: true, pruneSessionInterval: false });
expressPeer(express, expressSession, store, () => pool.end());
