# ElastiCache Redis 7. Redis is ephemeral in Parley (presence, leases, rate limits, denylist, call
# state, caches: DESIGN section 3), so there are no snapshots and no append-only file.

resource "aws_elasticache_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-redis"
  description = "Redis from the EKS nodes only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "clients" {
  for_each                     = toset(var.allowed_security_group_ids)
  security_group_id            = aws_security_group.this.id
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  description                  = "Redis clients"
}

resource "aws_elasticache_parameter_group" "this" {
  name   = "${var.name}-redis7"
  family = "redis7"
  tags   = var.tags

  # noeviction, not the ElastiCache default volatile-lru: every Parley key has a TTL, so LRU would
  # evict access-token denylist entries under memory pressure and a logged-out token would work
  # again. Failing writes (degraded presence/rate limits) is the safer way to be full.
  parameter {
    name  = "maxmemory-policy"
    value = "noeviction"
  }
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id = var.name
  description          = "Parley ephemeral state"
  engine               = "redis"
  engine_version       = var.engine_version
  node_type            = var.node_type
  port                 = 6379
  parameter_group_name = aws_elasticache_parameter_group.this.name
  subnet_group_name    = aws_elasticache_subnet_group.this.name
  security_group_ids   = [aws_security_group.this.id]

  # Primary + replicas (cluster mode disabled: Parley uses one logical keyspace with a prefix).
  num_cache_clusters         = var.replicas + 1
  automatic_failover_enabled = var.replicas > 0
  multi_az_enabled           = var.replicas > 0

  at_rest_encryption_enabled = true
  # infra/redis speaks TLS (REDIS_TLS) and authenticates as an ACL user (REDIS_USERNAME/PASSWORD).
  transit_encryption_enabled = var.transit_encryption_enabled
  user_group_ids             = var.transit_encryption_enabled ? [aws_elasticache_user_group.this[0].user_group_id] : null

  # Ephemeral by design: no snapshots.
  snapshot_retention_limit   = 0
  auto_minor_version_upgrade = true
  apply_immediately          = var.apply_immediately

  tags = var.tags
}

# --- RBAC (with transit encryption) ----------------------------------------------------------------

resource "random_password" "user" {
  count   = var.transit_encryption_enabled ? 1 : 0
  length  = 40
  special = false
}

# Every user group must contain a user named "default"; this one can do nothing.
resource "aws_elasticache_user" "default" {
  count         = var.transit_encryption_enabled ? 1 : 0
  user_id       = "${var.name}-default"
  user_name     = "default"
  engine        = "REDIS"
  access_string = "off ~* -@all"
  authentication_mode {
    type = "no-password-required"
  }
  tags = var.tags
}

# Parley's user: its own key prefix, every command but the dangerous ones (FLUSHALL, CONFIG,
# DEBUG...). Pub/sub channels are allowed (&*).
resource "aws_elasticache_user" "parley" {
  count         = var.transit_encryption_enabled ? 1 : 0
  user_id       = "${var.name}-${var.username}"
  user_name     = var.username
  engine        = "REDIS"
  access_string = "on ~${var.key_prefix}* &* +@all -@dangerous"
  authentication_mode {
    type      = "password"
    passwords = [random_password.user[0].result]
  }
  tags = var.tags
}

resource "aws_elasticache_user_group" "this" {
  count         = var.transit_encryption_enabled ? 1 : 0
  user_group_id = var.name
  engine        = "REDIS"
  user_ids      = [aws_elasticache_user.default[0].user_id, aws_elasticache_user.parley[0].user_id]
  tags          = var.tags
}
