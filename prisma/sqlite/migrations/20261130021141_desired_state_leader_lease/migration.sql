-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_PoolNode" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "instanceId" TEXT,
    "address" TEXT,
    "state" TEXT NOT NULL,
    "leaving" BOOLEAN NOT NULL DEFAULT false,
    "since" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);
INSERT INTO "new_PoolNode" ("address", "id", "instanceId", "since", "state", "updatedAt") SELECT "address", "id", "instanceId", "since", "state", "updatedAt" FROM "PoolNode";
DROP TABLE "PoolNode";
ALTER TABLE "new_PoolNode" RENAME TO "PoolNode";
CREATE TABLE "new_PoolState" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT DEFAULT 1,
    "version" INTEGER NOT NULL DEFAULT 0,
    "desiredSize" INTEGER,
    "desiredVersion" INTEGER NOT NULL DEFAULT 0,
    "appliedVersion" INTEGER NOT NULL DEFAULT 0,
    "applyNote" TEXT,
    "leaderId" TEXT,
    "leaderGeneration" INTEGER NOT NULL DEFAULT 0,
    "leaseExpiresAt" DATETIME
);
INSERT INTO "new_PoolState" ("id", "version") SELECT "id", "version" FROM "PoolState";
DROP TABLE "PoolState";
ALTER TABLE "new_PoolState" RENAME TO "PoolState";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

