// Package store keeps Gatehouse's records in one bbolt file: buckets,
// schema version and migrations, records and their indexes, one function
// per query. Every function takes a transaction; the caller (core) decides
// where transactions begin and end. There are no business rules here.
//
// It imports auth for the Role type only.
package store
