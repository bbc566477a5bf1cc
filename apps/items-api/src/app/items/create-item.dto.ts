import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNumber, IsOptional, IsString, Length, Min } from 'class-validator';

/** Body of `POST /api/items`. */
export class CreateItemDto {
  @ApiProperty({ minLength: 1, maxLength: 200, example: 'Blue mug' })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiPropertyOptional({ minimum: 0, example: 12.5 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  price?: number;
}
