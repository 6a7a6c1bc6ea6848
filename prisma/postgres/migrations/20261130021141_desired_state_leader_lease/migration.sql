-- AlterTable
ALTER TABLE "PoolNode" ADD COLUMN     "leaving" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "PoolState" DROP COLUMN "lockExpiresAt",
DROP COLUMN "lockHolder",
ADD COLUMN     "appliedVersion" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "applyNote" TEXT,
ADD COLUMN     "desiredSize" INTEGER,
ADD COLUMN     "desiredVersion" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "leaderGeneration" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "leaderId" TEXT,
ADD COLUMN     "leaseExpiresAt" TIMESTAMP(3);

