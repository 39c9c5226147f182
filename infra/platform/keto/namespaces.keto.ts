// Parley's authorization model for Ory Keto (OPL). Loaded by the local platform (infra/platform)
// and by the Keto deployment in a cluster. Tuples are written by the identity and conversations
// functions: PostgreSQL first on grants, Keto first on revocations (DESIGN section 3).
import { Namespace, SubjectSet, Context } from "@ory/keto-namespace-types"

class User implements Namespace {}

// A role (e.g. "admin", "moderator"): Role:<name>#members@<user>.
class Role implements Namespace {
  related: {
    members: User[]
  }
}

// The system itself (object "parley"): administrators and banned users.
class System implements Namespace {
  related: {
    admins: (User | SubjectSet<Role, "members">)[]
    banned: User[]
  }

  permits = {
    administer: (ctx: Context): boolean =>
      this.related.admins.includes(ctx.subject),
  }
}

// A conversation mirrors its PostgreSQL membership: owners, admins and members.
class Conversation implements Namespace {
  related: {
    owners: User[]
    admins: User[]
    members: User[]
  }

  permits = {
    // Change title, add and remove members.
    manage: (ctx: Context): boolean =>
      this.related.owners.includes(ctx.subject) ||
      this.related.admins.includes(ctx.subject),
    // Promote and demote admins.
    own: (ctx: Context): boolean =>
      this.related.owners.includes(ctx.subject),
    read: (ctx: Context): boolean =>
      this.related.members.includes(ctx.subject) ||
      this.permits.manage(ctx),
    send: (ctx: Context): boolean =>
      this.permits.read(ctx),
    // Revoke anybody's message at any time (a sender revokes its own within the window).
    moderate: (ctx: Context): boolean =>
      this.permits.manage(ctx),
  }
}
