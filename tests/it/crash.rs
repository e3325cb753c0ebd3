//! Durability: a server killed with SIGKILL while signed webhooks are in flight loses
//! nothing it acknowledged.
