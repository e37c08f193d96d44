// Type names for the generated wire messages the agent handles (one place, short names).
import type { pb } from '@kata-ts/protocol/kata';

type G = typeof pb.grpc;
export type Spec = pb.grpc.Spec.$Properties;
export type OciProcess = pb.grpc.Process.$Properties;
export type LinuxResources = pb.grpc.LinuxResources.$Properties;
export type Storage = pb.grpc.Storage.$Properties;
export type CgroupStats = pb.grpc.CgroupStats.$Properties;
export type NetworkStats = pb.grpc.NetworkStats.$Properties;
export type Interface = pb.types.Interface.$Properties;
export type Route = pb.types.Route.$Properties;
export type ARPNeighbor = pb.types.ARPNeighbor.$Properties;
export type IPAddress = pb.types.IPAddress.$Properties;
export type KernelModule = pb.grpc.KernelModule.$Properties;
export type { G as GrpcNamespace };
