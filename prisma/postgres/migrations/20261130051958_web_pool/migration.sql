-- AlterTable
ALTER TABLE "PoolNode" ADD COLUMN     "pool" TEXT NOT NULL DEFAULT 'cache';

-- AlterTable
ALTER TABLE "ScalingEvent" ADD COLUMN     "cpu" DOUBLE PRECISION,
ADD COLUMN     "growCpu" DOUBLE PRECISION,
ADD COLUMN     "pool" TEXT NOT NULL DEFAULT 'cache',
ADD COLUMN     "shrinkCpu" DOUBLE PRECISION;

-- CreateTable
CREATE TABLE "WorkerPolicy" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "mode" TEXT NOT NULL DEFAULT 'manual',
    "growCpu" DOUBLE PRECISION NOT NULL DEFAULT 0.7,
    "shrinkCpu" DOUBLE PRECISION NOT NULL DEFAULT 0.2,
    "growRatio" DOUBLE PRECISION NOT NULL DEFAULT 1.5,
    "shrinkRatio" DOUBLE PRECISION NOT NULL DEFAULT 0.5,
    "cooldownS" INTEGER NOT NULL DEFAULT 300,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "WorkerPolicy_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WorkerSample" (
    "id" SERIAL NOT NULL,
    "workerId" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "cpu" DOUBLE PRECISION NOT NULL,
    "requests" INTEGER NOT NULL,
    "bytesIn" BIGINT NOT NULL,
    "bytesOut" BIGINT NOT NULL,

    CONSTRAINT "WorkerSample_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "WorkerSample_at_idx" ON "WorkerSample"("at");

-- CreateIndex
CREATE INDEX "WorkerSample_workerId_at_idx" ON "WorkerSample"("workerId", "at");

-- CreateIndex
CREATE INDEX "PoolNode_pool_idx" ON "PoolNode"("pool");

-- CreateIndex
CREATE INDEX "ScalingEvent_pool_at_idx" ON "ScalingEvent"("pool", "at");

