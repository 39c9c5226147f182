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
  # The Go client (infra/redis) dials plain TCP with no AUTH token today: REDIS_ADDR is host:port and
  # there is no TLS or password setting. Turning this on requires that support in the app first.
  transit_encryption_enabled = var.transit_encryption_enabled

  # Ephemeral by design: no snapshots.
  snapshot_retention_limit   = 0
  auto_minor_version_upgrade = true
  apply_immediately          = var.apply_immediately

  tags = var.tags
}
