"""Stand-in for BookWyrm: only the parts an Ansible collection for BookWyrm touches."""
