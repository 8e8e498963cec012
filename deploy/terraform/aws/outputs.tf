output "load_balancer_dns_name" {
  description = "Point your domain (the certificate's name) here: the API, the console and WebSockets."
  value       = aws_lb.this.dns_name
}

output "cluster_name" {
  description = "EKS cluster: aws eks update-kubeconfig --name <this>, then kubectl apply -k deploy/k8s/overlays/aws."
  value       = aws_eks_cluster.this.name
}

output "artifacts_bucket" {
  description = "Set as DALSTON_S3_BUCKET in deploy/k8s (dalston-config)."
  value       = aws_s3_bucket.artifacts.id
}

output "runtime_secret_arn" {
  description = "Secrets Manager secret with DATABASE_URL and REDIS_URL: copy into the dalston-secrets Kubernetes Secret (or sync it with the External Secrets Operator)."
  value       = aws_secretsmanager_secret.dalston.arn
}

output "redis_address" {
  description = "Redis primary endpoint (host:port), for the KEDA triggers in deploy/k8s/base/keda.yaml."
  value       = "${aws_elasticache_replication_group.this.primary_endpoint_address}:6379"
}

output "database_address" {
  description = "RDS PostgreSQL endpoint."
  value       = aws_db_instance.this.address
}
