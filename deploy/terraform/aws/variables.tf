variable "name" {
  description = "Prefix of every resource's name."
  type        = string
  default     = "dalston"
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "vpc_cidr" {
  description = "CIDR of the VPC; split into public, private and data subnets per zone."
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zones" {
  description = "Availability zones (names, in var.region) to spread over: 2 or 3."
  type        = list(string)
  default     = ["us-east-1a", "us-east-1b"]

  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3
    error_message = "Give 2 or 3 availability zones."
  }
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
  default     = "1.31"
}

variable "cluster_public_access_cidrs" {
  description = "CIDRs that may reach the EKS API endpoint (empty: private endpoint only)."
  type        = list(string)
  default     = []
}

variable "cpu_instance_types" {
  description = "Instance types of the CPU node group (gateways, orchestrators, workers)."
  type        = list(string)
  default     = ["c7i.2xlarge"]
}

variable "cpu_nodes" {
  description = "Size of the CPU node group."
  type        = object({ min = number, desired = number, max = number })
  default     = { min = 2, desired = 3, max = 10 }
}

variable "gpu_enabled" {
  description = "Add a GPU node group (for the gpu kustomize overlay)."
  type        = bool
  default     = false
}

variable "gpu_instance_types" {
  description = "Instance types of the GPU node group."
  type        = list(string)
  default     = ["g6.xlarge"]
}

variable "gpu_nodes" {
  description = "Size of the GPU node group (when gpu_enabled)."
  type        = object({ min = number, desired = number, max = number })
  default     = { min = 0, desired = 1, max = 4 }
}

variable "db_instance_class" {
  description = "RDS PostgreSQL instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_allocated_storage_gb" {
  description = "RDS storage (GB); grows automatically up to 5x."
  type        = number
  default     = 50
}

variable "redis_node_type" {
  description = "ElastiCache Redis node type (two nodes, Multi-AZ)."
  type        = string
  default     = "cache.t4g.small"
}

variable "audio_expiration_days" {
  description = "Objects under jobs/ and sessions/ are deleted this many days after upload (0: never). Per-job retention is enforced by Dalston itself; this is the backstop."
  type        = number
  default     = 30
}

variable "certificate_arn" {
  description = "ACM certificate for the load balancer's HTTPS listener."
  type        = string
}

variable "alb_ingress_cidrs" {
  description = "CIDRs allowed to reach the load balancer."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "websocket_idle_timeout_s" {
  description = "ALB idle timeout: a live session that sends nothing for this long is cut."
  type        = number
  default     = 3600
}

variable "waf_enabled" {
  description = "Put AWS WAF (managed common and known-bad-input rules) in front of the load balancer."
  type        = bool
  default     = true
}
