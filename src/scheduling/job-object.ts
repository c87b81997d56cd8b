import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

/** One Durable Object per job configuration (addressed by the job's UID). */
export class JobObject extends DurableObject<Env> {}
