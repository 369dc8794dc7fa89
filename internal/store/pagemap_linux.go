package store

import "syscall"

// mapPopulate fills the mapping's page tables at once, instead of one
// fault per few pages as the walk touches them.
const mapPopulate = syscall.MAP_POPULATE
